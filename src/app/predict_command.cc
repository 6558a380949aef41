// `munet predict`: runs a model file (munet export, munet train --save) on a split of its task,
// or of another task with the same class count, and prints the accuracy.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "app/options.h"
#include "data/tasks.h"
#include "io/model_file.h"
#include "io/task_entries.h"
#include "kernels/cpu/cpu_backend.h"
#include "train/trainer.h"

namespace munet::app {

int predict_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("model", po::value<std::string>(), "model file")(
      "task", po::value<std::string>()->default_value(""),
      "task whose data to use: a built-in name or a task file (contains '/' or ends in .h5); default: the model's")(
      "split", po::value<std::string>()->default_value("test"), "train, validation or test")(
      "data", po::value<std::string>()->default_value("", "$MUNET_DATA"), "dataset folder")(
      "eval-batch-size", po::value<int>()->default_value(256), "batch size")(
      "threads", po::value<int>()->default_value(0), "CPU threads (0: all hardware threads)");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet predict MODEL [--task T] [--split test]\nRuns a model file on a dataset split and "
                     "prints its accuracy and mean cross-entropy.",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("model"), "no model file given (usage: munet predict MODEL [--task T] [--split S])");
  const std::string path = vm["model"].as<std::string>(), split = vm["split"].as<std::string>();
  CpuBackend backend(threads_from(vm));
  ModelFile model = read_model_file(path, backend);
  std::string task_name = vm["task"].as<std::string>();
  if (task_name.empty()) {
    const std::vector<std::string> built_in = task_names();
    MUNET_CHECK(std::find(built_in.begin(), built_in.end(), model.task) != built_in.end(), path,
                ": the model was trained on task '", model.task,
                "', which is not a built-in task: give its task file with --task FILE.h5");
    task_name = model.task;
  }
  const TaskData task = load_task_entry(task_name, vm["data"].as<std::string>());
  MUNET_CHECK(task.num_classes == model.config.num_classes, path, ": the model has ", model.config.num_classes,
              " classes, task ", task_name, " has ", task.num_classes);
  const ImageSet* set = split == "test" ? &task.test : split == "validation" ? &task.validation
                        : split == "train"                               ? &task.train
                                                                         : nullptr;
  MUNET_CHECK(set != nullptr, "unknown split '", split, "' (valid: train, validation, test)");
  std::vector<RouteStep> route;
  for (auto& c : model.components) route.push_back({c.get(), false});
  Network net(backend, model.config, route);
  const EvalResult r = evaluate(backend, net, *set, 0, vm["eval-batch-size"].as<int>(), backend.pool());
  std::printf("model %s (task %s, %dx%d) on %s %s: accuracy %.4f (%lld of %lld correct), loss %.4f\n",
              path.c_str(), model.task.c_str(), model.config.image_size, model.config.image_size, task_name.c_str(),
              split.c_str(), r.accuracy, (long long)std::llround(r.accuracy * double(r.examples)),
              (long long)r.examples, r.loss);
  return 0;
}

}  // namespace munet::app
