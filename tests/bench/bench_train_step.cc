// Benchmark: training throughput (images/s) of one training step (forward, cross-entropy,
// backward, global-norm clipping, SGD momentum update) of a ViT on a munet backend (CPU, or one
// GPU in fp32/tf32/bf16), then the same step of an identical PyTorch model
// (tests/bench/vit_step_torch.py) on the same device, precision, shapes and batch, in the same
// run, and the ratio munet/PyTorch against the 1.2x target. Also prints model-FLOPs utilisation
// (MFU): model FLOPs per image = 3 x forward FLOPs (2*M*N*K for every GEMM and attention
// matmul), MFU = achieved FLOP/s / peak. Prints figures; asserts nothing (exit 1 only when the
// PyTorch peer fails, 2 on a usage error).
//
// Needs only the engine and the backends (no Boost, HDF5 or MPI): the options are parsed here.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/make_backend.h"
#include "munet/build_config.h"
#include "nn/vit_model.h"
#include "optim/sgd.h"
#include "util/rng.h"
#include "util/thread_pool.h"
#if MUNET_CUDA
#include <cuda_runtime.h>
#endif

using namespace munet;

namespace {

constexpr double kTargetRatio = 1.2;  // the goal: munet >= 1.2x PyTorch (eager)

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- A small command-line parser (--name value, --name=value, flags), with --help text. ----

struct OptionSpec {
  std::string name;  // without the leading "--"
  bool takes_value;
  std::string default_value;  // shown as (=...) when not empty
  std::string help;
};

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"help", false, "", "show this help (also -h)"},
      {"device", true, "cpu", "cpu, cuda or cuda:N (the GPU to benchmark)"},
      {"precision", true, "", "GPU GEMM precision: fp32, tf32 or bf16 (default tf32 on cuda; the CPU "
                              "backend is fp32 only)"},
      {"preset", true, "", "workload: ti16 = ViT Ti/16 (hidden 192, 3 heads, mlp 768, 3 layers, image 32, "
                           "patch 16, batch 512); b16 = ViT B/16 (hidden 768, 12 heads, mlp 3072, 12 layers, "
                           "image 224, patch 16, batch 128). Shape/batch options given too override it"},
      {"threads", true, "0", "CPU threads for munet and PyTorch (0: all cores)"},
      {"batch", true, "128", "batch size"},
      {"image-size", true, "32", "image size"},
      {"patch", true, "16", "patch size"},
      {"hidden", true, "192", "hidden size"},
      {"mlp", true, "768", "MLP size"},
      {"heads", true, "3", "heads"},
      {"layers", true, "3", "encoder blocks"},
      {"classes", true, "10", "classes of the head"},
      {"warmup", true, "5", "untimed steps first"},
      {"steps", true, "30", "timed steps"},
      {"peak-tflops", true, "0", "peak TFLOP/s for MFU (0: by GPU name for H100/H200 in the chosen "
                                 "precision; required on other GPUs; on cpu MFU is shown only with it)"},
      {"python", true, "", "Python with torch (default: the first of python3 in PATH and /usr/bin/python3 "
                           "that imports torch)"},
      {"torch-args", true, "", "extra arguments for vit_step_torch.py, e.g. \"--attention sdpa\" or "
                               "\"--bf16-attention tf32\""},
      {"no-torch", false, "", "skip the PyTorch peer"},
  };
  return specs;
}

void print_help() {
  std::printf("usage: bench_train_step [options]\n\nbench_train_step options:\n");
  for (const OptionSpec& s : option_specs()) {
    std::string left = s.name == "help" ? "-h [ --help ]" : "--" + s.name;
    if (s.takes_value) left += s.default_value.empty() ? " arg" : " arg (=" + s.default_value + ")";
    // Word-wrap the help to 100 columns, continuation lines under the first.
    std::string line, rest = s.help;
    bool first = true;
    while (!rest.empty()) {
      size_t cut = rest.size();
      if (cut > 62) {
        cut = rest.rfind(' ', 62);
        if (cut == std::string::npos || cut == 0) cut = 62;
      }
      line = rest.substr(0, cut);
      rest = cut < rest.size() ? rest.substr(rest[cut] == ' ' ? cut + 1 : cut) : "";
      std::printf("  %-34s %s\n", first ? left.c_str() : "", line.c_str());
      first = false;
    }
  }
  std::printf("\nExamples:\n"
              "  bench_train_step                                   # CPU, ViT Ti/16 at 32x32, batch 128\n"
              "  bench_train_step --device cuda --preset ti16 --precision bf16\n"
              "  bench_train_step --device cuda:1 --preset b16 --precision tf32 --peak-tflops 494\n");
}

struct UsageError {
  std::string message;
};

class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "-h") a = "--help";
      if (a.rfind("--", 0) != 0 || a.size() == 2) throw UsageError{"unexpected argument '" + a + "'"};
      std::string name = a.substr(2), value;
      bool has_inline = false;
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        has_inline = true;
      }
      const OptionSpec* spec = find(name);
      if (!spec) throw UsageError{"unrecognised option '--" + name + "' (see --help)"};
      if (spec->takes_value && !has_inline) {
        if (i + 1 >= argc) throw UsageError{"the option '--" + name + "' requires an argument"};
        value = argv[++i];
      } else if (!spec->takes_value && has_inline) {
        throw UsageError{"the option '--" + name + "' takes no argument"};
      }
      given_[name] = value;
    }
  }
  bool given(const std::string& name) const { return given_.count(name) > 0; }
  std::string str(const std::string& name) const {
    const auto it = given_.find(name);
    return it != given_.end() ? it->second : find(name)->default_value;
  }
  int integer(const std::string& name) const {
    const std::string v = str(name);
    char* end = nullptr;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || x < -1000000000L || x > 1000000000L) invalid(name, v);
    return int(x);
  }
  double real(const std::string& name) const {
    const std::string v = str(name);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') invalid(name, v);
    return x;
  }

 private:
  static const OptionSpec* find(const std::string& name) {
    for (const OptionSpec& s : option_specs())
      if (s.name == name) return &s;
    return nullptr;
  }
  [[noreturn]] static void invalid(const std::string& name, const std::string& v) {
    throw UsageError{"the argument ('" + v + "') for option '--" + name + "' is invalid"};
  }
  std::map<std::string, std::string> given_;
};

// ---- FLOPs and peaks. ----

// Forward FLOPs of one image: 2*M*N*K for the patch embedding, the qkv/out/MLP GEMMs, the two
// attention matmuls (QK^T and PV, over all heads) and the head (class token only).
double forward_flops_per_image(const ViTConfig& c) {
  const double T = c.tokens(), P = T - 1, D = c.hidden, F = c.mlp;
  const double embedding = 2 * P * c.patch_dim() * D;
  const double block = 2 * T * D * (3 * D)  // qkv
                       + 2 * T * T * D      // Q K^T
                       + 2 * T * T * D      // probs V
                       + 2 * T * D * D      // out projection
                       + 2 * T * D * F * 2;  // fc1, fc2
  const double head = 2 * D * c.num_classes;
  return embedding + c.layers * block + head;
}

// Dense (non-sparse) tensor-core/FP32 peaks, TFLOP/s, by GPU name; 0 when unknown.
double known_peak_tflops(const std::string& gpu, const std::string& precision, std::string& which) {
  struct Peak {
    const char* match;
    const char* label;
    double bf16, tf32, fp32;
  };
  // Order matters: the more specific names first.
  static const Peak peaks[] = {
      {"H100 PCIe", "H100 PCIe", 756, 378, 51},
      {"H100 NVL", "H100 NVL", 835, 418, 60},
      {"H100", "H100 SXM", 989, 494, 67},
      {"H200", "H200 SXM (H100 SXM compute)", 989, 494, 67},
  };
  for (const Peak& p : peaks)
    if (gpu.find(p.match) != std::string::npos) {
      which = std::string(p.label) + " dense " + precision;
      return precision == "bf16" ? p.bf16 : precision == "tf32" ? p.tf32 : p.fp32;
    }
  return 0;
}

// Runs `command` and returns the value printed after `key ` on one of its lines (or -1);
// also fills `lines` with every `key value` pair it printed.
double run_peer(const std::string& command, const std::string& key, std::map<std::string, std::string>& lines) {
  std::printf("peer: %s\n", command.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  char line[1024];
  double value = -1;
  while (std::fgets(line, sizeof line, pipe)) {
    std::printf("  %s", line);
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (const size_t sp = s.find(' '); sp != std::string::npos) lines[s.substr(0, sp)] = s.substr(sp + 1);
    if (s.rfind(key + " ", 0) == 0) value = std::atof(s.c_str() + key.size() + 1);
  }
  std::fflush(stdout);
  const int status = pclose(pipe);
  return status == 0 ? value : -1;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The Python that runs the PyTorch peer: --python, else the first of python3 in PATH (a GPU
// machine's, with CUDA torch) and /usr/bin/python3 (Debian's python3-torch) that imports torch.
std::string peer_python(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = shell_quote(candidate) + " -c 'import torch' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return candidate;
  }
  return "python3";
}

constexpr double kLearningRate = 0.01;

struct MunetResult {
  double images_per_second = 0, seconds = 0, final_loss = 0, peak_tflops = 0;
  std::string described, peak_source = "--peak-tflops";
};

// Times munet's training step; every munet object (and its GPU memory) is gone on return, so
// that the PyTorch peer then has the GPU to itself. The MFU peak is `peak_tflops` when > 0, else
// (on a GPU) the known peak for the GPU's name, else a usage error (before any timing).
MunetResult measure_munet(const DeviceSpec& spec, const ViTConfig& cfg, int B, int warmup, int steps,
                          double peak_tflops) {
  MunetResult r;
  std::unique_ptr<Backend> backend = make_backend(spec);  // clear error without a GPU / CUDA build
  Backend& be = *backend;
  r.described = be.describe();
  r.peak_tflops = peak_tflops;
  if (r.peak_tflops <= 0 && spec.type == DeviceType::CUDA) {
    r.peak_tflops = known_peak_tflops(r.described, spec.precision, r.peak_source);
    if (r.peak_tflops <= 0)
      throw UsageError{"no known peak for '" + r.described + "'; give --peak-tflops (dense " + spec.precision +
                       " TFLOP/s of this GPU) for MFU"};
  }

  VitModel model = fresh_vit(be, cfg, 0);
  Network net(be, cfg, model.route);
  Tensor host_images = Tensor::host({B, cfg.image_size, cfg.image_size, 3}, DType::F32);
  Tensor host_labels = Tensor::host({B}, DType::I32);
  Rng rng(1);
  for (int64_t i = 0; i < host_images.numel(); ++i) host_images.data<float>()[i] = float(rng.uniform(-1, 1));
  for (int b = 0; b < B; ++b) host_labels.data<int32_t>()[b] = int32_t(rng.below(cfg.num_classes));
  Tensor images = host_images, labels = host_labels;
  if (be.device() != DeviceType::CPU) {
    images = be.empty(host_images.shape(), DType::F32);
    labels = be.empty(host_labels.shape(), DType::I32);
    be.copy(host_images, images);
    be.copy(host_labels, labels);
  }
  Tensor dlogits = be.empty({B, cfg.num_classes}, DType::F32);
  const std::vector<Component*> trainable = net.trainable_components();
  // The step vit_step_torch.py mirrors: mean cross-entropy, backward, clip the global gradient
  // norm to 1.0, SGD with momentum 0.9 (not Nesterov) at lr 0.01, gradients zeroed.
  const SgdConfig sgd{};
  auto step = [&] {
    const LossStats s = be.softmax_cross_entropy(net.forward(images), labels, &dlogits, 1.0 / B);
    net.backward(dlogits);
    sgd_step(be, trainable, kLearningRate, sgd);
    r.final_loss = s.loss_sum / B;
  };
  for (int i = 0; i < warmup; ++i) step();
  be.synchronize();
  const double t0 = now();
  for (int i = 0; i < steps; ++i) step();
  be.synchronize();
  r.seconds = now() - t0;
  r.images_per_second = double(B) * steps / r.seconds;
  return r;
}

int run(const Args& args) {
  // Device and precision.
  DeviceSpec spec = parse_device(args.str("device"));
  const bool gpu = spec.type == DeviceType::CUDA;
  std::string precision = args.str("precision");
  if (precision.empty()) precision = gpu ? "tf32" : "fp32";
  try {
    parse_precision(precision);
  } catch (const Error& e) {
    throw UsageError{e.what()};
  }
  if (!gpu && precision != "fp32")
    throw UsageError{"--precision " + precision + " applies to --device cuda; the CPU backend computes in fp32"};
  spec.precision = precision;
  spec.threads = args.integer("threads") > 0 ? args.integer("threads") : hardware_threads();
  const int threads = spec.threads;

  // Shapes: defaults, then the preset, then any shape option given explicitly.
  ViTConfig cfg;
  int B = 128;
  const std::string preset = args.str("preset");
  if (preset == "ti16") {
    cfg.hidden = 192, cfg.heads = 3, cfg.mlp = 768, cfg.layers = 3, cfg.image_size = 32, cfg.patch = 16;
    B = 512;
  } else if (preset == "b16") {
    cfg.hidden = 768, cfg.heads = 12, cfg.mlp = 3072, cfg.layers = 12, cfg.image_size = 224, cfg.patch = 16;
    B = 128;
  } else if (!preset.empty() && preset != "none") {
    throw UsageError{"--preset " + preset + ": expected ti16 or b16"};
  }
  auto override_int = [&](const char* name, int& field) {
    if (preset.empty() || args.given(name)) field = args.integer(name);
  };
  override_int("batch", B);
  override_int("image-size", cfg.image_size);
  override_int("patch", cfg.patch);
  override_int("hidden", cfg.hidden);
  override_int("mlp", cfg.mlp);
  override_int("heads", cfg.heads);
  override_int("layers", cfg.layers);
  cfg.num_classes = args.integer("classes");
  cfg.validate();
  const int warmup = args.integer("warmup"), steps = args.integer("steps");
  if (B < 1 || steps < 1 || warmup < 0) throw UsageError{"need --batch >= 1, --steps >= 1, --warmup >= 0"};

  const double flops_per_image = 3 * forward_flops_per_image(cfg);
  const MunetResult m = measure_munet(spec, cfg, B, warmup, steps, args.real("peak-tflops"));
  const double munet_ips = m.images_per_second, peak = m.peak_tflops;

  std::printf("model: ViT patch %d hidden %d mlp %d heads %d layers %d image %d, batch %d, %d threads%s%s\n",
              cfg.patch, cfg.hidden, cfg.mlp, cfg.heads, cfg.layers, cfg.image_size, B, threads,
              preset.empty() ? "" : ", preset ", preset.c_str());
  std::printf("device %s\nprecision %s\n", device_spec_str(spec).c_str(), precision.c_str());
  std::printf("munet_backend %s\n", m.described.c_str());
  const SgdConfig sgd{};
  std::printf("step: mean cross-entropy, backward, clip global norm %.2f, SGD momentum %.2f nesterov %d lr %.2f\n",
              sgd.clip_norm, sgd.momentum, int(sgd.nesterov), kLearningRate);
  std::printf("model_gflops_per_image %.4f\n", flops_per_image * 1e-9);
  if (peak > 0) std::printf("peak_tflops %.1f (%s)\n", peak, m.peak_source.c_str());
  else std::printf("peak_tflops none (give --peak-tflops for MFU)\n");
  if (gpu && precision == "bf16")
    std::printf("note: munet bf16 runs the attention matmuls in tf32; MFU is against the bf16 peak\n");
  std::printf("munet_step_ms %.3f\nmunet_images_per_second %.1f\nmunet_final_loss %.4f\n",
              1e3 * m.seconds / steps, munet_ips, m.final_loss);
  std::printf("munet_tflops %.2f\n", munet_ips * flops_per_image * 1e-12);
  if (peak > 0) std::printf("munet_mfu %.2f%%\n", 100 * munet_ips * flops_per_image / (peak * 1e12));
  std::fflush(stdout);
  if (args.given("no-torch")) return 0;

  const std::string device_arg = device_spec_str(spec);
#if MUNET_CUDA
  // munet's freed buffers stay in the device's memory pool; give them back before PyTorch runs.
  if (gpu) {
    cudaMemPool_t pool;
    cudaSetDevice(spec.index);
    cudaDeviceSynchronize();
    if (cudaDeviceGetDefaultMemPool(&pool, spec.index) == cudaSuccess) cudaMemPoolTrimTo(pool, 0);
  }
#endif
  const char* here = std::getenv("MUNET_SOURCE_DIR");
  const std::string script = std::string(here ? here : MUNET_SOURCE_DIR) + "/tests/bench/vit_step_torch.py";
  char peer_args[768];
  std::snprintf(peer_args, sizeof peer_args,
                " --device %s --precision %s --threads %d --batch %d --image-size %d --patch %d --hidden %d "
                "--mlp %d --heads %d --layers %d --classes %d --warmup %d --steps %d",
                device_arg.c_str(), precision.c_str(), threads, B, cfg.image_size, cfg.patch, cfg.hidden,
                cfg.mlp, cfg.heads, cfg.layers, cfg.num_classes, warmup, steps);
  const std::string python = peer_python(args.str("python"));
  std::printf("pytorch_peer %s %s\n", python.c_str(), script.c_str());
  std::string command = shell_quote(python) + " " + shell_quote(script) + peer_args;
  if (!args.str("torch-args").empty()) command += " " + args.str("torch-args");
  std::map<std::string, std::string> peer;
  const double torch_ips = run_peer(command, "torch_images_per_second", peer);
  if (torch_ips <= 0) {
    std::printf("pytorch peer failed: no ratio (%s)\n",
                gpu ? "needs a CUDA-enabled torch for this Python (--python)"
                    : "install python3-torch: tests/bench/ensure_torch.sh");
    return 1;
  }
  std::printf("torch_tflops %.2f\n", torch_ips * flops_per_image * 1e-12);
  if (peak > 0) std::printf("torch_mfu %.2f%%\n", 100 * torch_ips * flops_per_image / (peak * 1e12));
  const double ratio = munet_ips / torch_ips;
  std::printf("ratio_munet_over_torch %.2f\n", ratio);
  std::printf("target_%.1fx %s (munet/PyTorch %.2f, target >= %.2f)\n", kTargetRatio,
              ratio >= kTargetRatio ? "met" : "not_met", ratio, kTargetRatio);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args(argc, argv);
    if (args.given("help")) {
      print_help();
      return 0;
    }
    return run(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
