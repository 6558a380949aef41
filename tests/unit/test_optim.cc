// Optimizer and learning-rate schedule values against hand-computed ones.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/schedule.h"
#include "optim/sgd.h"

namespace munet {
namespace {

TEST(LrSchedule, CosineWarmupThenDecay) {
  LrSchedule s{LrScheduleKind::Cosine, 0.1, 0.1, 100, 5};
  // 10 warm-up steps from 0.001 to 0.1: step t gives 0.001 + 0.099 * t / 10.
  EXPECT_DOUBLE_EQ(s.at(0), 0.001);
  EXPECT_DOUBLE_EQ(s.at(5), 0.001 + 0.099 * 0.5);
  // Then cosine over the remaining 90 steps.
  EXPECT_DOUBLE_EQ(s.at(10), 0.1);
  EXPECT_NEAR(s.at(55), 0.05, 1e-15);                                   // halfway: cos(pi/2) = 0
  EXPECT_NEAR(s.at(40), 0.1 * 0.5 * (1 + std::cos(M_PI / 3)), 1e-15);  // a third: 0.075
  EXPECT_NEAR(s.at(99), 0.1 * 0.5 * (1 + std::cos(M_PI * 89 / 90)), 1e-15);
}

TEST(LrSchedule, ConstantIsHalfTheRate) {
  LrSchedule s{LrScheduleKind::Constant, 0.02, 0.1, 100, 5};
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.at(99), 0.01);
}

TEST(LrSchedule, RestartsRepeatTheCyclePerValidationPeriod) {
  LrSchedule s{LrScheduleKind::Restarts, 0.1, 0.25, 60, 3};
  // Each 20-step cycle: 5 warm-up steps from 0.001, then cosine over 15.
  for (int cycle = 0; cycle < 3; ++cycle) {
    EXPECT_DOUBLE_EQ(s.at(cycle * 20), 0.001);
    EXPECT_DOUBLE_EQ(s.at(cycle * 20 + 5), 0.1);
    EXPECT_NEAR(s.at(cycle * 20 + 5 + 5), 0.1 * 0.5 * (1 + std::cos(M_PI / 3)), 1e-15);
  }
}

TEST(LrSchedule, RestartCyclesFollowUnevenValidationChunks) {
  // 10 steps, 3 validations: chunks [0,3), [3,6), [6,10); warm-up int(0.34 * len) steps.
  LrSchedule s{LrScheduleKind::Restarts, 1.0, 0.34, 10, 3};
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.at(1), 1.0);  // warm-up of int(0.34 * 3) = 1 step
  EXPECT_DOUBLE_EQ(s.at(3), 0.01);
  EXPECT_DOUBLE_EQ(s.at(6), 0.01);
  EXPECT_DOUBLE_EQ(s.at(7), 1.0);  // int(0.34 * 4) = 1 step of warm-up, then cosine over 3
  EXPECT_NEAR(s.at(9), 0.5 * (1 + std::cos(M_PI * 2 / 3)), 1e-15);
}

TEST(LrSchedule, UnknownNameIsAnError) {
  EXPECT_EQ(parse_lr_schedule("restarts"), LrScheduleKind::Restarts);
  EXPECT_THROW(parse_lr_schedule("linear"), Error);
}

struct SgdFixture : ::testing::Test {
  std::unique_ptr<Backend> be = make_cpu_backend(1);
  Component c{"w", ComponentKind::ClassToken, {{"cls", {2}, 0}}, *be, DType::F64};
  void set(Tensor t, double a, double b) {
    t.data<double>()[0] = a;
    t.data<double>()[1] = b;
  }
  double v(const Tensor& t, int i) { return t.data<double>()[i]; }
};

TEST_F(SgdFixture, MomentumStepsWithoutClipping) {
  set(c.values(), 1.0, -2.0);
  SgdConfig cfg{0.9, false, 1.0};
  set(c.grad(), 0.3, 0.4);  // norm 0.5: not clipped
  EXPECT_DOUBLE_EQ(sgd_step(*be, {&c}, 0.1, cfg), 0.5);
  // v = g; p -= 0.1 * v
  EXPECT_DOUBLE_EQ(v(c.values(), 0), 1.0 - 0.03);
  EXPECT_DOUBLE_EQ(v(c.values(), 1), -2.0 - 0.04);
  EXPECT_EQ(v(c.grad(), 0), 0.0);  // gradients are zeroed after the step
  set(c.grad(), 0.1, 0.0);
  sgd_step(*be, {&c}, 0.1, cfg);
  // v = 0.9 * 0.3 + 0.1 = 0.37 ; v1 = 0.9 * 0.4 = 0.36
  EXPECT_NEAR(v(c.velocity(), 0), 0.37, 1e-15);
  EXPECT_NEAR(v(c.values(), 0), 0.97 - 0.037, 1e-15);
  EXPECT_NEAR(v(c.values(), 1), -2.04 - 0.036, 1e-15);
}

TEST_F(SgdFixture, GlobalNormClipping) {
  set(c.values(), 0.0, 0.0);
  set(c.grad(), 3.0, 4.0);  // norm 5 -> scaled by 1/5
  EXPECT_DOUBLE_EQ(sgd_step(*be, {&c}, 1.0, SgdConfig{0.0, false, 1.0}), 5.0);
  EXPECT_NEAR(v(c.values(), 0), -0.6, 1e-15);
  EXPECT_NEAR(v(c.values(), 1), -0.8, 1e-15);
}

TEST_F(SgdFixture, Nesterov) {
  set(c.values(), 1.0, 1.0);
  SgdConfig cfg{0.5, true, 0.0};
  set(c.grad(), 0.2, 0.0);
  sgd_step(*be, {&c}, 1.0, cfg);
  // v = 0.2; update = g + m v = 0.2 + 0.1 = 0.3
  EXPECT_NEAR(v(c.values(), 0), 0.7, 1e-15);
  set(c.grad(), 0.2, 0.0);
  sgd_step(*be, {&c}, 1.0, cfg);
  // v = 0.5 * 0.2 + 0.2 = 0.3; update = 0.2 + 0.15 = 0.35
  EXPECT_NEAR(v(c.values(), 0), 0.35, 1e-15);
}

TEST_F(SgdFixture, NormIsSummedOverComponents) {
  Component d{"u", ComponentKind::ClassToken, {{"cls", {2}, 0}}, *be, DType::F64};
  set(c.grad(), 1.0, 2.0);
  set(d.grad(), 2.0, 4.0);
  EXPECT_DOUBLE_EQ(sgd_step(*be, {&c, &d}, 0.0, SgdConfig{}), 5.0);
}

}  // namespace
}  // namespace munet
