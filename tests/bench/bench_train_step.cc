// Benchmark: training throughput (images/s) of one training step (forward, backward, clipping,
// SGD update) of a ViT on the CPU backend, then the same step of an identical PyTorch model
// (tests/bench/vit_step_torch.py under Debian's python3) with the same threads, shapes and
// batch, in the same run, and the ratio. Prints figures; asserts nothing.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <boost/program_options.hpp>

#include "kernels/cpu/cpu_backend.h"
#include "nn/vit_model.h"
#include "optim/sgd.h"
#include "util/rng.h"

namespace po = boost::program_options;
using namespace munet;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs `command` and returns the value printed after `key ` on one of its lines (or -1).
double run_peer(const std::string& command, const std::string& key) {
  std::printf("peer: %s\n", command.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  char line[512];
  double value = -1;
  while (std::fgets(line, sizeof line, pipe)) {
    std::printf("  %s", line);
    if (std::string(line).rfind(key + " ", 0) == 0) value = std::atof(line + key.size() + 1);
  }
  const int status = pclose(pipe);
  return status == 0 ? value : -1;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("bench_train_step options");
  opts.add_options()("help,h", "show this help")
      ("threads", po::value<int>()->default_value(0), "threads for munet and PyTorch (0: all cores)")
      ("batch", po::value<int>()->default_value(128), "batch size")
      ("image-size", po::value<int>()->default_value(32), "image size")
      ("patch", po::value<int>()->default_value(16), "patch size")
      ("hidden", po::value<int>()->default_value(192), "hidden size")
      ("mlp", po::value<int>()->default_value(768), "MLP size")
      ("heads", po::value<int>()->default_value(3), "heads")
      ("layers", po::value<int>()->default_value(3), "encoder blocks")
      ("warmup", po::value<int>()->default_value(5), "untimed steps")
      ("steps", po::value<int>()->default_value(30), "timed steps")
      ("python", po::value<std::string>()->default_value("/usr/bin/python3"), "Python with torch")
      ("no-torch", "skip the PyTorch peer");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::printf("%s\n", (std::ostringstream() << opts).str().c_str());
    return 0;
  }
  po::notify(vm);
  const int threads = vm["threads"].as<int>() > 0 ? vm["threads"].as<int>() : hardware_threads();
  ViTConfig cfg;
  cfg.image_size = vm["image-size"].as<int>();
  cfg.patch = vm["patch"].as<int>();
  cfg.hidden = vm["hidden"].as<int>();
  cfg.mlp = vm["mlp"].as<int>();
  cfg.heads = vm["heads"].as<int>();
  cfg.layers = vm["layers"].as<int>();
  cfg.num_classes = 10;
  cfg.validate();
  const int B = vm["batch"].as<int>(), warmup = vm["warmup"].as<int>(), steps = vm["steps"].as<int>();

  CpuBackend be(threads);
  VitModel model = fresh_vit(be, cfg, 0);
  Network net(be, cfg, model.route);
  Tensor images = Tensor::host({B, cfg.image_size, cfg.image_size, 3}, DType::F32);
  Tensor labels = Tensor::host({B}, DType::I32), dlogits = Tensor::host({B, cfg.num_classes}, DType::F32);
  Rng rng(1);
  for (int64_t i = 0; i < images.numel(); ++i) images.data<float>()[i] = float(rng.uniform(-1, 1));
  for (int b = 0; b < B; ++b) labels.data<int32_t>()[b] = int32_t(rng.below(cfg.num_classes));
  const std::vector<Component*> trainable = net.trainable_components();
  double loss = 0;
  auto step = [&] {
    const LossStats s = be.softmax_cross_entropy(net.forward(images), labels, &dlogits, 1.0 / B);
    net.backward(dlogits);
    sgd_step(be, trainable, 0.01, SgdConfig{});
    loss = s.loss_sum / B;
  };
  for (int i = 0; i < warmup; ++i) step();
  const double t0 = now();
  for (int i = 0; i < steps; ++i) step();
  const double elapsed = now() - t0;
  const double munet_ips = double(B) * steps / elapsed;
  std::printf("model: ViT patch %d hidden %d mlp %d heads %d layers %d image %d, batch %d, %d threads\n",
              cfg.patch, cfg.hidden, cfg.mlp, cfg.heads, cfg.layers, cfg.image_size, B, threads);
  std::printf("munet_backend %s\n", be.describe().c_str());
  std::printf("munet_step_ms %.3f\nmunet_images_per_second %.1f\nmunet_final_loss %.4f\n",
              1e3 * elapsed / steps, munet_ips, loss);
  if (vm.count("no-torch")) return 0;

  const char* here = std::getenv("MUNET_SOURCE_DIR");
  const std::string script = std::string(here ? here : MUNET_SOURCE_DIR) + "/tests/bench/vit_step_torch.py";
  char args[512];
  std::snprintf(args, sizeof args,
                " --threads %d --batch %d --image-size %d --patch %d --hidden %d --mlp %d --heads %d "
                "--layers %d --classes %d --warmup %d --steps %d",
                threads, B, cfg.image_size, cfg.patch, cfg.hidden, cfg.mlp, cfg.heads, cfg.layers,
                cfg.num_classes, warmup, steps);
  const double torch_ips = run_peer(vm["python"].as<std::string>() + " " + script + args, "torch_images_per_second");
  if (torch_ips <= 0) {
    std::printf("pytorch peer failed: no ratio (install python3-torch: tests/bench/ensure_torch.sh)\n");
    return 1;
  }
  std::printf("ratio_munet_over_torch %.2f\n", munet_ips / torch_ips);
  return 0;
}
