// The CUDA backend's error messages: without a GPU, asking for one says to use --device cpu (runs
// on every machine); with one, a missing GPU index, a bad precision, host or mistyped tensors,
// wrong shapes and bad labels are munet::Errors naming the op, and the backend keeps working.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cuda/cuda_test_support.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/make_backend.h"
#include "support/expect_error.h"

namespace munet {
namespace {

TEST(CudaBackendErrors, PrecisionNamesRoundTripAndBadOnesAreNamed) {
  for (GemmPrecision p : {GemmPrecision::FP32, GemmPrecision::TF32, GemmPrecision::BF16})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_EQ(parse_precision("tf32"), GemmPrecision::TF32);
  EXPECT_ERROR(parse_precision("fp16"), "'fp16'", "fp32, tf32 or bf16");
  EXPECT_ERROR(parse_precision("TF32"), "'TF32'");
  EXPECT_ERROR(parse_precision(""), "fp32, tf32 or bf16");
}

TEST(CudaBackendErrors, WithoutAGpuConstructionSaysToUseTheCpu) {
  if (test::have_cuda_device()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_ERROR(CudaBackend(CudaOptions{}), "--device cpu");
  EXPECT_ERROR(CudaBackend(CudaOptions{3, GemmPrecision::FP32}), "--device cpu");
}

TEST(CudaBackendErrors, NoSuchGpuIndex) {
  MUNET_REQUIRE_CUDA_DEVICE();
  const int count = int(test::cuda_device_list().devices.size());
  EXPECT_ERROR(CudaBackend(CudaOptions{99, GemmPrecision::TF32}), "cuda:99", "no such GPU",
               cat("this process sees ", count));
  EXPECT_ERROR(CudaBackend(CudaOptions{-1, GemmPrecision::TF32}), "no such GPU");
  EXPECT_ERROR(make_backend(parse_device("cuda:99")), "cuda:99", "no such GPU", cat("this process sees ", count));
  DeviceSpec spec = parse_device("cuda:0");
  spec.precision = "fp64";
  EXPECT_ERROR(make_backend(spec), "'fp64'", "fp32, tf32 or bf16");
}

TEST(CudaBackendErrors, ResolvesTheDeviceFromTheLocalRank) {
  MUNET_REQUIRE_CUDA_DEVICE();
  const auto& devices = test::cuda_device_list().devices;
  DeviceSpec spec = parse_device("cuda");
  spec.local_rank = 5;
  int64_t memory = 0;
  const DeviceSpec resolved = resolve_device(spec, &memory);
  EXPECT_EQ(resolved.type, DeviceType::CUDA);
  EXPECT_EQ(resolved.index, 5 % int(devices.size()));
  EXPECT_EQ(memory, int64_t(devices[size_t(resolved.index)].memory_bytes));
  EXPECT_EQ(resolve_device(parse_device("cuda:0")).index, 0);
}

class CudaBackendOnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    MUNET_REQUIRE_CUDA_DEVICE();
    be_ = std::make_unique<CudaBackend>(CudaOptions{0, GemmPrecision::TF32});
  }
  Tensor dev(const Shape& s, DType dt = DType::F32) {
    Tensor t = be_->empty(s, dt);
    be_->zero(t);
    return t;
  }
  std::unique_ptr<CudaBackend> be_;
};

TEST_F(CudaBackendOnGpu, DescribesItsDeviceAndPrecision) {
  const std::string d = be_->describe();
  EXPECT_NE(d.find("cuda:0"), std::string::npos) << d;
  EXPECT_NE(d.find("tf32"), std::string::npos) << d;
  EXPECT_EQ(be_->device(), DeviceType::CUDA);
  std::unique_ptr<Backend> via_spec = make_backend(parse_device("cuda:0"));
  EXPECT_EQ(via_spec->device(), DeviceType::CUDA);
  EXPECT_EQ(make_backend(parse_device("cpu"))->device(), DeviceType::CPU);
}

// Where a device has no memory pools the backend allocates with plain cudaMalloc; forcing that path
// here proves it works on GPUs that do have pools.
TEST(CudaBackendAllocation, PlainCudaMallocPathComputesAndFrees) {
  MUNET_REQUIRE_CUDA_DEVICE();
  setenv("MUNET_CUDA_MALLOC", "plain", 1);
  auto plain = std::make_unique<CudaBackend>(CudaOptions{0, GemmPrecision::FP32});
  unsetenv("MUNET_CUDA_MALLOC");
  EXPECT_NE(plain->describe().find("plain cudaMalloc"), std::string::npos) << plain->describe();
  EXPECT_NE(CudaBackend(CudaOptions{0, GemmPrecision::FP32}).describe().find("stream-ordered"), std::string::npos);
  Tensor h = Tensor::host({64, 33}, DType::F32), back = Tensor::host({64, 33}, DType::F32);
  for (int64_t i = 0; i < h.numel(); ++i) h.data<float>()[i] = float(i) * 0.5f;
  for (int round = 0; round < 3; ++round) {  // allocations freed and made again
    Tensor d = plain->empty({64, 33}, DType::F32), e = plain->empty({64, 33}, DType::F32);
    plain->copy(h, d);
    plain->copy(d, e);
    plain->copy(e, back);
    for (int64_t i = 0; i < h.numel(); ++i) ASSERT_EQ(back.data<float>()[i], h.data<float>()[i]) << i;
  }
}

TEST_F(CudaBackendOnGpu, HostTensorsAreRejected) {
  const Tensor xh = Tensor::host({4, 3}, DType::F32), w = dev({3, 5});
  Tensor y = dev({4, 5});
  EXPECT_ERROR(be_->linear_forward(xh, w, nullptr, y), "linear_forward", "x", "not in GPU memory");
  Tensor yh = Tensor::host({4, 5}, DType::F32);
  EXPECT_ERROR(be_->gelu_forward(dev({4, 5}), yh), "gelu_forward", "y", "not in GPU memory");
  EXPECT_ERROR(be_->zero(yh), "zero", "not in GPU memory");
}

TEST_F(CudaBackendOnGpu, WrongDtypesAndShapesNameTheOpAndTensor) {
  const Tensor xi = dev({4, 3}, DType::I32), w = dev({3, 5});
  Tensor y = dev({4, 5});
  EXPECT_ERROR(be_->linear_forward(xi, w, nullptr, y), "linear_forward", "unsupported dtype", "int");
  const Tensor x64 = dev({4, 3}, DType::F64);
  EXPECT_ERROR(be_->linear_forward(x64, w, nullptr, y), "linear_forward", "w", "has dtype");
  const Tensor x = dev({4, 3});
  Tensor y_wrong = dev({4, 6});
  EXPECT_ERROR(be_->linear_forward(x, w, nullptr, y_wrong), "linear_forward", "y", "[4, 6]");
  Tensor out = dev({4, 5}), probs = dev({1, 2, 4, 4});
  EXPECT_ERROR(be_->attention_forward(dev({4, 15}), 1, 2, out, probs), "attention_forward", "not divisible", "2 heads");
  Tensor patches = dev({2, 48});
  EXPECT_ERROR(be_->patchify(dev({1, 8, 8, 3}), 3, patches), "patchify", "not a multiple of the patch size 3");
  Tensor d1 = dev({3, 4}), d2 = dev({4, 3});
  EXPECT_ERROR(be_->copy(d1, d2), "copy", "does not match");
}

TEST_F(CudaBackendOnGpu, LabelsOutOfRangeAreNamedAndTheBackendKeepsWorking) {
  Tensor logits_h = Tensor::host({3, 4}, DType::F32), labels_h = Tensor::host({3}, DType::I32);
  for (int64_t i = 0; i < 12; ++i) logits_h.data<float>()[i] = float(i % 5);
  labels_h.data<int32_t>()[0] = 1;
  labels_h.data<int32_t>()[1] = 4;  // outside [0, 4)
  labels_h.data<int32_t>()[2] = 0;
  const Tensor logits = test::to_device(*be_, logits_h);
  Tensor labels = test::to_device(*be_, labels_h);
  EXPECT_ERROR(be_->softmax_cross_entropy(logits, labels, nullptr, 1.0), "softmax_cross_entropy", "example 1",
               "outside [0, 4)");
  labels_h.data<int32_t>()[1] = -1;
  be_->copy(labels_h, labels);
  EXPECT_ERROR(be_->softmax_cross_entropy(logits, labels, nullptr, 1.0), "example 1");
  // After the errors the backend still computes: labels fixed, the loss is finite.
  labels_h.data<int32_t>()[1] = 2;
  be_->copy(labels_h, labels);
  const LossStats s = be_->softmax_cross_entropy(logits, labels, nullptr, 1.0);
  EXPECT_TRUE(std::isfinite(s.loss_sum));
  EXPECT_GE(s.correct, 0);
}

}  // namespace
}  // namespace munet
