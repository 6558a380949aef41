// Whole ViT training on the GPU against the CPU reference: the same model (identical parameters)
// on both backends through forward, loss, backward and SGD steps, then train_network over a
// tiny generated dataset (and real MNIST when present), comparing loss curves. Skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cuda/cuda_test_support.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "nn/vit_model.h"
#include "optim/sgd.h"
#include "support/data_root.h"
#include "support/small_vit.h"
#include "train/trainer.h"

namespace munet {
namespace {

using test::expect_close;
using test::to_host;

// The same route twice: CPU components and CUDA copies of them (same names, layouts and values,
// bit for bit), trainable flags alike.
struct TwinModels {
  std::vector<std::unique_ptr<Component>> cpu_components, gpu_components;
  std::vector<RouteStep> cpu_route, gpu_route;
};

TwinModels twin(std::vector<std::unique_ptr<Component>> cpu_components, std::vector<RouteStep> route,
                Backend& cuda) {
  TwinModels t;
  t.cpu_components = std::move(cpu_components);
  t.cpu_route = std::move(route);
  for (const RouteStep& s : t.cpu_route) {
    const Component& c = *s.component;
    auto g = std::make_unique<Component>(c.name(), c.kind(), c.layout(), cuda, c.dtype());
    cuda.copy(c.values(), g->values());  // host -> device
    t.gpu_route.push_back({g.get(), s.trainable});
    t.gpu_components.push_back(std::move(g));
  }
  return t;
}

// Adds N(0, scale^2) to every parameter of host components, so that no gradient is trivially
// zero (fresh heads are all zeros).
void perturb(std::vector<std::unique_ptr<Component>>& comps, double scale, uint64_t seed) {
  Rng rng(seed);
  for (auto& c : comps) {
    Tensor& v = c->values();
    for (int64_t i = 0; i < v.numel(); ++i) {
      if (v.dtype() == DType::F64) v.data<double>()[i] += scale * rng.normal();
      else v.data<float>()[i] += float(scale * rng.normal());
    }
  }
}

// ViT-Ti-like blocks at 32x32 with patch 4: 65 tokens, so attention takes the cuBLAS path.
ViTConfig tokens65_config() {
  ViTConfig c;
  c.image_size = 32, c.patch = 4, c.hidden = 192, c.mlp = 384, c.heads = 3, c.layers = 2, c.num_classes = 10;
  return c;
}

// ---- single training steps -------------------------------------------------------------------

// Tolerances (max |cuda - cpu| <= tol * max(1, max |cpu|) per tensor): a training step chains
// some 30 ops forward and backward, each within its bound of test_cuda_ops.cc (F64 1e-10, F32
// fp32 GEMMs 1e-4); the errors add up along the chain (LayerNorm re-normalises, it does not
// amplify), so the whole step gets ten times the per-op bound. (Perturbing every op's output by
// a relative 1e-6, more than fp32 reordering gives, moved these tensors by at most 5e-6 *
// max(1, max |cpu|).)
struct VitPrecision {
  const char* name;
  DType dtype;
  GemmPrecision gemm;
  double tol;
};
const VitPrecision kVitPrecisions[] = {
    {"F64", DType::F64, GemmPrecision::FP32, 1e-9},
    {"F32_fp32", DType::F32, GemmPrecision::FP32, 1e-3},
};

void PrintTo(const VitPrecision& p, std::ostream* os) { *os << p.name; }

class CudaVitStep : public ::testing::TestWithParam<VitPrecision> {
 protected:
  void SetUp() override {
    MUNET_REQUIRE_CUDA_DEVICE();
    cuda_ = std::make_unique<CudaBackend>(CudaOptions{0, GetParam().gemm});
    cpu_ = make_cpu_backend(4);
  }
  DType dt() const { return GetParam().dtype; }
  double tol() const { return GetParam().tol; }

  // `steps` steps of forward, cross-entropy, backward and sgd_step on both backends, comparing
  // logits, loss, correct count, dlogits, every gradient, the gradient norm, and the updated
  // parameters and momentum.
  void compare_steps(TwinModels& m, const ViTConfig& cfg, int batch, int steps) {
    Network ncpu(*cpu_, cfg, m.cpu_route), ngpu(*cuda_, cfg, m.gpu_route);
    for (int step = 0; step < steps; ++step) {
      SCOPED_TRACE(cat("step ", step));
      const Tensor images = test::random_host({batch, cfg.image_size, cfg.image_size, 3}, dt(), rng_);
      Tensor labels = Tensor::host({batch}, DType::I32);
      for (int b = 0; b < batch; ++b) labels.data<int32_t>()[b] = int32_t(rng_.below(cfg.num_classes));
      const Tensor images_d = test::to_device(*cuda_, images), labels_d = test::to_device(*cuda_, labels);

      const Tensor& logits = ncpu.forward(images);
      const Tensor& logits_d = ngpu.forward(images_d);
      expect_close("logits", logits, to_host(*cuda_, logits_d), tol());

      Tensor dlogits = Tensor::host(logits.shape(), dt()), dlogits_d = cuda_->empty(logits.shape(), dt());
      const LossStats s = cpu_->softmax_cross_entropy(logits, labels, &dlogits, 1.0 / batch);
      const LossStats sd = cuda_->softmax_cross_entropy(logits_d, labels_d, &dlogits_d, 1.0 / batch);
      EXPECT_NEAR(sd.loss_sum / batch, s.loss_sum / batch, tol() * std::max(1.0, s.loss_sum / batch));
      EXPECT_EQ(sd.correct, s.correct);
      expect_close("dlogits", dlogits, to_host(*cuda_, dlogits_d), tol());

      ncpu.backward(dlogits);
      ngpu.backward(dlogits_d);
      for (size_t i = 0; i < m.cpu_route.size(); ++i)
        if (m.cpu_route[i].trainable)
          expect_close(m.cpu_route[i].component->name() + " gradient", m.cpu_route[i].component->grad(),
                       to_host(*cuda_, m.gpu_route[i].component->grad()), tol());

      SgdConfig sgd;
      sgd.nesterov = step % 2 == 1;  // both variants
      sgd.clip_norm = 1.0;
      const double norm = sgd_step(*cpu_, ncpu.trainable_components(), 0.1, sgd);
      const double norm_d = sgd_step(*cuda_, ngpu.trainable_components(), 0.1, sgd);
      EXPECT_NEAR(norm_d, norm, tol() * std::max(1.0, norm));
      for (size_t i = 0; i < m.cpu_route.size(); ++i) {
        Component& c = *m.cpu_route[i].component;
        Component& g = *m.gpu_route[i].component;
        if (m.cpu_route[i].trainable) {
          expect_close(c.name() + " updated values", c.values(), to_host(*cuda_, g.values()), tol());
          expect_close(c.name() + " momentum", c.velocity(), to_host(*cuda_, g.velocity()), tol());
          expect_close(c.name() + " gradient zeroed", c.grad(), to_host(*cuda_, g.grad()), 0);
        } else {  // frozen: untouched, bit for bit
          expect_close(c.name() + " frozen values", c.values(), to_host(*cuda_, g.values()), 0);
          EXPECT_FALSE(g.has_optimizer_state()) << c.name();
        }
      }
    }
  }

  std::unique_ptr<CudaBackend> cuda_;
  std::unique_ptr<Backend> cpu_;
  Rng rng_{4242};
};

// tests/support/small_vit.h: 8x8 images, 5 tokens (the fused attention kernel), hidden 8, two
// blocks with an adapter between them, every parameter perturbed.
TEST_P(CudaVitStep, SmallVitWithAdapter) {
  test::SmallVit v = test::make_small_vit(*cpu_, dt(), /*with_adapter=*/true, 5, /*perturb=*/true);
  TwinModels m = twin(std::move(v.components), v.route, *cuda_);
  compare_steps(m, v.cfg, 6, 3);
}

// 65 tokens, hidden 192, 3 heads, batch 8: the realistic shapes, attention through cuBLAS.
TEST_P(CudaVitStep, Tokens65AllTrainable) {
  const ViTConfig cfg = tokens65_config();
  VitModel vm = fresh_vit(*cpu_, cfg, 17, true, dt());
  perturb(vm.components, 0.05, 18);
  TwinModels m = twin(std::move(vm.components), vm.route, *cuda_);
  compare_steps(m, cfg, 8, 3);
}

// The stem and the first block frozen: backward stops below the second block (no dx into the
// first block, no token or patch gradients), frozen components stay as they were.
TEST_P(CudaVitStep, Tokens65FrozenStemAndFirstBlock) {
  const ViTConfig cfg = tokens65_config();
  VitModel vm = fresh_vit(*cpu_, cfg, 19, true, dt());
  perturb(vm.components, 0.05, 20);
  for (size_t i = 0; i < 4; ++i) vm.route[i].trainable = false;  // embedding, cls, posembed, block 0
  TwinModels m = twin(std::move(vm.components), vm.route, *cuda_);
  compare_steps(m, cfg, 8, 2);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaVitStep, ::testing::ValuesIn(kVitPrecisions),
                         [](const ::testing::TestParamInfo<VitPrecision>& info) { return info.param.name; });

// ---- train_network ---------------------------------------------------------------------------

// A generated 4-class task of 32x32 grey images: class k has vertical stripes of period 2k + 2
// at a random phase, on noise. Deterministic, always available, and learnable within a few steps.
TaskData synthetic_task(int64_t train, int64_t validation) {
  constexpr int kSize = 32, kClasses = 4;
  Rng rng(99);
  auto make = [&](ImageSet& set, int64_t n) {
    set.size = n;
    set.height = set.width = kSize;
    set.channels = 1;
    set.pixels.resize(size_t(n) * kSize * kSize);
    set.labels.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      const int k = int(rng.below(kClasses)), period = 2 * k + 2, phase = int(rng.below(uint64_t(period)));
      set.labels[size_t(i)] = k;
      uint8_t* img = set.pixels.data() + i * kSize * kSize;
      for (int y = 0; y < kSize; ++y)
        for (int x = 0; x < kSize; ++x) {
          const bool bright = (x + phase) % period < period / 2;
          img[y * kSize + x] = uint8_t((bright ? 170 : 40) + int(rng.below(60)));
        }
    }
  };
  TaskData t;
  t.name = "synthetic_stripes";
  t.num_classes = kClasses;
  make(t.train, train);
  make(t.validation, validation);
  return t;
}

// Loss-curve tolerances (|cuda - cpu| <= tol * max(1, |cpu|) per step, and the same for the
// validation losses): fp32 as for single steps (1e-3; 16 steps keep the differences of one
// step, ~1e-6, far below it); TF32, the default --precision, keeps 10 mantissa bits of the GEMM
// operands: emulating that (truncated) on the CPU moved these loss curves by up to 8e-4: 2e-2.
struct TrainPrecision {
  const char* name;
  GemmPrecision gemm;
  double tol;
};
const TrainPrecision kTrainPrecisions[] = {{"fp32", GemmPrecision::FP32, 1e-3}, {"tf32", GemmPrecision::TF32, 2e-2}};

void PrintTo(const TrainPrecision& p, std::ostream* os) { *os << p.name; }

class CudaTrainNetwork : public ::testing::TestWithParam<TrainPrecision> {
 protected:
  void SetUp() override {
    MUNET_REQUIRE_CUDA_DEVICE();
    cuda_ = std::make_unique<CudaBackend>(CudaOptions{0, GetParam().gemm});
  }

  // Trains fresh (identical) models on both backends and compares the results.
  void compare_training(const ViTConfig& cfg, const TaskData& task, const TrainConfig& tc) {
    CpuBackend cpu(4);
    ThreadPool host_pool(4);
    VitModel vm = fresh_vit(cpu, cfg, 31);
    TwinModels m = twin(std::move(vm.components), vm.route, *cuda_);
    Network ncpu(cpu, cfg, m.cpu_route), ngpu(*cuda_, cfg, m.gpu_route);
    const TrainResult rc = train_network(cpu, ncpu, task, tc, cpu.pool(), nullptr);
    const TrainResult rg = train_network(*cuda_, ngpu, task, tc, host_pool, nullptr);
    const double tol = GetParam().tol;
    ASSERT_EQ(rg.losses.size(), rc.losses.size());
    for (size_t i = 0; i < rc.losses.size(); ++i)
      EXPECT_NEAR(rg.losses[i], rc.losses[i], tol * std::max(1.0, std::fabs(rc.losses[i]))) << "step " << i;
    ASSERT_EQ(rg.validations.size(), rc.validations.size());
    for (size_t v = 0; v < rc.validations.size(); ++v) {
      const EvalResult& a = rc.validations[v].result;
      const EvalResult& b = rg.validations[v].result;
      EXPECT_EQ(b.examples, a.examples);
      EXPECT_NEAR(b.loss, a.loss, tol * std::max(1.0, a.loss)) << "validation " << v;
      // A prediction may flip where two logits are nearly tied; a tenth would be a real bug.
      EXPECT_NEAR(b.accuracy, a.accuracy, 0.1) << "validation " << v;
    }
    // With the same best validation, both restored the same snapshot.
    if (rg.best_step == rc.best_step)
      for (size_t i = 0; i < m.cpu_route.size(); ++i)
        expect_close(m.cpu_route[i].component->name() + " trained values", m.cpu_route[i].component->values(),
                     to_host(*cuda_, m.gpu_route[i].component->values()), tol);
  }

  std::unique_ptr<CudaBackend> cuda_;
};

TrainConfig small_train_config() {
  TrainConfig tc;
  tc.batch_size = 16;
  tc.steps = 16;
  tc.validations = 2;  // a snapshot of device values (restored if the first validation stays best)
  tc.lr = 0.02;
  tc.augmentation.crop = false;  // a crop would change the stripes' period
  tc.max_validation_examples = 48;
  tc.eval_batch_size = 20;  // batches of 20, 20 and 8: the network reallocates its activations
  tc.log_every = 0;
  tc.seed = 5;
  return tc;
}

// The char benchmark's ViT-Ti/16 at 32x32 (5 tokens: fused attention), two blocks.
TEST_P(CudaTrainNetwork, CharVitOnGeneratedData) {
  ViTConfig cfg = vit_preset("char");
  cfg.layers = 2;
  cfg.num_classes = 4;
  compare_training(cfg, synthetic_task(96, 48), small_train_config());
}

// Patch 4: 65 tokens (cuBLAS attention).
TEST_P(CudaTrainNetwork, Tokens65VitOnGeneratedData) {
  ViTConfig cfg = tokens65_config();
  cfg.num_classes = 4;
  compare_training(cfg, synthetic_task(96, 48), small_train_config());
}

// Real images: MNIST with the char preset (skips without the datasets).
TEST_P(CudaTrainNetwork, CharVitOnMnist) {
  MUNET_REQUIRE_DATA_ROOT(root);
  static const TaskData mnist = load_task("mnist", root);
  TrainConfig tc = small_train_config();
  tc.batch_size = 32;
  tc.steps = 10;
  tc.max_validation_examples = 200;
  tc.eval_batch_size = 64;
  compare_training(vit_preset("char"), mnist, tc);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaTrainNetwork, ::testing::ValuesIn(kTrainPrecisions),
                         [](const ::testing::TestParamInfo<TrainPrecision>& info) { return info.param.name; });

}  // namespace
}  // namespace munet
