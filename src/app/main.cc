// The munet command line: dispatches to a subcommand and turns errors into one clear message
// and a non-zero exit status.
#include <cstring>
#include <iostream>

#include "app/commands.h"
#include "app/options.h"
#include "io/hdf5_handles.h"
#include "munet/build_config.h"
#include "util/error.h"

namespace {

void usage(std::ostream& out) {
  out << "munet " << MUNET_VERSION << ": grows one multitask ViT by evolution (µ2Net)\n\n"
      << "usage: munet <command> [options]     (munet <command> --help for its options)\n\n"
      << "commands:\n"
      << "  train   train one ViT on one task and report its test accuracy\n"
      << "  evolve  grow one multitask system over a list of tasks (µ2Net)\n"
      << "  inspect show a checkpoint: tasks, best models, accuracies, pool, progress (--json)\n"
      << "  export  write a task's best model from a checkpoint as a model file\n"
      << "  predict run a model file on a dataset split and print its accuracy\n"
      << "  task    make a task file from your own data (task pack) or show one (task info)\n"
      << "  import  write a model file from a pretrained ViT checkpoint (vit_jax .npz, timm .safetensors)\n"
      << "  verify  check checkpoints, model files and task files against their checksums, every byte\n"
      << "  info    show how this munet was built and where it finds data\n";
}

}  // namespace

int main(int argc, char** argv) {
  munet::h5::no_close_at_exit();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(std::cout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "munet " << MUNET_VERSION << "\n";
    return 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "train") return munet::app::train_command(argc - 1, argv + 1);
    if (command == "evolve") return munet::app::evolve_command(argc - 1, argv + 1);
    if (command == "info") return munet::app::info_command(argc - 1, argv + 1);
    if (command == "inspect") return munet::app::inspect_command(argc - 1, argv + 1);
    if (command == "verify") return munet::app::verify_command(argc - 1, argv + 1);
    if (command == "export") return munet::app::export_command(argc - 1, argv + 1);
    if (command == "predict") return munet::app::predict_command(argc - 1, argv + 1);
    if (command == "task") return munet::app::task_command(argc - 1, argv + 1);
    if (command == "import") return munet::app::import_command(argc - 1, argv + 1);
    std::cerr << "munet: unknown command '" << command << "'\n\n";
    usage(std::cerr);
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "munet " << command << ": " << e.what() << " (see munet " << command << " --help)\n";
    return 2;
  } catch (const munet::Error& e) {
    std::cerr << "munet " << command << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "munet " << command << ": unexpected error: " << e.what() << "\n";
    return 1;
  }
}
