// `munet import`: a pretrained ViT checkpoint (vit_jax / big_vision .npz, timm .safetensors) to a
// munet model file, the root `munet evolve --root` and `munet train --root` start from.
#include <cstdio>

#include "app/commands.h"
#include "app/options.h"
#include "util/path_checks.h"
#include "import/vit_import.h"
#include "io/model_file.h"
#include "kernels/cpu/cpu_backend.h"

namespace munet::app {

int import_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("checkpoint", po::value<std::string>(),
                                                          "the checkpoint file (.npz or .safetensors)")(
      "output,o", po::value<std::string>()->default_value(""), "the model file to write (HDF5)")(
      "layers", po::value<int>()->default_value(-1),
      "keep the first k encoder blocks (-1: all; the character benchmark's root keeps 3)")(
      "image-size", po::value<int>()->default_value(0),
      "image size of the model (a multiple of the patch size; 0: the checkpoint's). The position "
      "embedding is resized from the checkpoint's grid (scipy.ndimage.zoom, order 1, class token "
      "kept); the file keeps the original grid too, so later resizes start from it")(
      "drop-head", po::bool_switch(), "leave the checkpoint's classifier head out (evolve drops it anyway)")(
      "heads", po::value<int>()->default_value(0),
      "attention heads (0: from the arrays; for timm files, whose fused qkv does not say, hidden / 64)")(
      "task", po::value<std::string>()->default_value(""),
      "task name recorded in the file (default: import:<checkpoint file name>)")(
      "threads", po::value<int>()->default_value(0), threads_help().c_str());
  po::positional_options_description pos;
  pos.add("checkpoint", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet import CHECKPOINT --output ROOT.h5 [--layers k] [--image-size S] [--drop-head]\n"
                     "Writes a munet model file from a pretrained ViT: the vit_jax / big_vision .npz layout of the "
                     "AugReg checkpoints, or timm's .safetensors layout (F32, F16 or BF16). The shape comes from "
                     "the arrays.",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("checkpoint"), "no checkpoint file given (usage: munet import CHECKPOINT --output ROOT.h5)");
  const std::string path = vm["checkpoint"].as<std::string>(), output = vm["output"].as<std::string>();
  MUNET_CHECK(!output.empty(), "no --output model file given");
  refuse_output_is_input("--output", output, {{"CHECKPOINT", path}});
  check_file_writable("--output", output);
  ImportOptions opt;
  opt.layers = vm["layers"].as<int>();
  opt.image_size = vm["image-size"].as<int>();
  opt.drop_head = vm["drop-head"].as<bool>();
  opt.heads = vm["heads"].as<int>();
  MUNET_CHECK(opt.layers >= -1, "--layers must be >= 0 (or -1 for all), got ", opt.layers);
  MUNET_CHECK(opt.image_size >= 0, "--image-size must be positive (or 0 for the checkpoint's), got ", opt.image_size);
  MUNET_CHECK(opt.heads >= 0, "--heads must be positive (or 0), got ", opt.heads);
  std::string task = vm["task"].as<std::string>();
  if (task.empty()) task = "import:" + path.substr(path.find_last_of('/') + 1);

  CpuBackend backend(threads_from(vm));
  const std::unique_ptr<ArrayFile> file = ArrayFile::open(path);
  const ImportedViT vit = import_vit(*file, opt, backend);
  std::vector<const Component*> route;
  int64_t params = 0;
  for (const auto& c : vit.route) {
    route.push_back(c.get());
    params += c->size();
  }
  write_model_file(output, vit.config, task, route, backend, vit.original_posembed.get());
  const ViTConfig& c = vit.config;
  std::printf("imported %s (%s layout, %s): ViT patch %d, hidden %d, MLP %d, %d heads, %d of %d blocks, %s\n",
              path.c_str(), vit.layout.c_str(), file->container(), c.patch, c.hidden, c.mlp, c.heads, c.layers,
              vit.checkpoint_layers, c.num_classes > 0 ? cat(c.num_classes, " classes").c_str() : "no head");
  std::printf("image size %d (checkpoint grid %dx%d = %d px%s), %lld parameters on the route\n", c.image_size,
              vit.original_image_size / c.patch, vit.original_image_size / c.patch, vit.original_image_size,
              vit.original_posembed ? ", kept beside the resized embedding" : "", (long long)params);
  std::printf("model written to %s\n", output.c_str());
  return 0;
}

}  // namespace munet::app
