// `munet predict`: runs a model file (munet export, munet train --save, munet import) on a split
// of its task, or of another task with the same class count, prints the accuracy, and with
// --logits writes every example's logits and label for other programs to check.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "app/options.h"
#include "util/path_checks.h"
#include "data/augment.h"
#include "data/tasks.h"
#include "io/model_file.h"
#include "io/task_entries.h"
#include "io/npz_writer.h"
#include "kernels/cpu/cpu_backend.h"
#include "nn/network.h"

namespace munet::app {

int predict_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("model", po::value<std::string>(), "model file")(
      "task", po::value<std::string>()->default_value(""),
      "task whose data to use: a built-in name or a task file (contains '/' or ends in .h5); default: the model's")(
      "split", po::value<std::string>()->default_value("test"), "train, validation or test")(
      "max-examples", po::value<int64_t>()->default_value(0), "the split's first N examples only (0: all)")(
      "logits", po::value<std::string>()->default_value(""),
      "write each example's logits and label to this .npz file (arrays logits [N, classes] float32, "
      "labels [N] int32, in split order)")(
      "data", po::value<std::string>()->default_value("", "$MUNET_DATA"), "dataset folder")(
      "eval-batch-size", po::value<int>()->default_value(256), "batch size")(
      "threads", po::value<int>()->default_value(0), threads_help().c_str());
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet predict MODEL [--task T] [--split test] [--logits FILE.npz]\nRuns a model file "
                     "on a dataset split (images resized to the model's size, pixels to [-1, 1]) and prints its "
                     "accuracy and mean cross-entropy.",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("model"), "no model file given (usage: munet predict MODEL [--task T] [--split S])");
  const std::string path = vm["model"].as<std::string>(), split = vm["split"].as<std::string>();
  const int batch_size = vm["eval-batch-size"].as<int>();
  const int64_t max_examples = vm["max-examples"].as<int64_t>();
  MUNET_CHECK(batch_size > 0, "--eval-batch-size must be positive, got ", batch_size);
  MUNET_CHECK(max_examples >= 0, "--max-examples must be >= 0, got ", max_examples);
  const std::string logits_path = vm["logits"].as<std::string>();
  if (!logits_path.empty()) {
    refuse_output_is_input("--logits", logits_path, {{"MODEL", path}, {"--task", vm["task"].as<std::string>()}});
    check_file_writable("--logits", logits_path);
  }
  CpuBackend backend(threads_from(vm));
  ModelFile model = read_model_file(path, backend);
  MUNET_CHECK(model.config.num_classes > 0, path, ": the model has no head (imported with --drop-head?)");
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

  const int64_t n = max_examples > 0 ? std::min(set->size, max_examples) : set->size;
  const int S = model.config.image_size, C = model.config.num_classes;
  std::vector<float> logits(size_t(n) * C);
  std::vector<int32_t> labels(n);
  double loss = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int count = int(std::min<int64_t>(batch_size, n - start));
    Tensor images = Tensor::host({count, S, S, 3}, DType::F32), batch_labels = Tensor::host({count}, DType::I32);
    std::vector<int64_t> idx(count);
    for (int i = 0; i < count; ++i) {
      idx[i] = start + i;
      labels[start + i] = batch_labels.data<int32_t>()[i] = set->labels[start + i];
    }
    make_batch(*set, idx.data(), count, S, nullptr, 0, images.data<float>(), backend.pool());
    const Tensor& out = net.forward(images);
    std::copy(out.data<float>(), out.data<float>() + int64_t(count) * C, logits.begin() + start * C);
    const LossStats s = backend.softmax_cross_entropy(out, batch_labels, nullptr, 0);
    loss += s.loss_sum;
    correct += s.correct;
  }
  const double accuracy = n > 0 ? double(correct) / double(n) : 0.0;
  std::printf("model %s (task %s, %dx%d) on %s %s: accuracy %.4f (%lld of %lld correct), loss %.4f\n",
              path.c_str(), model.task.c_str(), S, S, task_name.c_str(), split.c_str(), accuracy, (long long)correct,
              (long long)n, n > 0 ? loss / double(n) : 0.0);
  if (!logits_path.empty()) {
    write_npz(logits_path, {npy_float32("logits", {n, C}, logits), npy_int32("labels", {n}, labels)});
    std::printf("logits of %lld examples written to %s\n", (long long)n, logits_path.c_str());
  }
  return 0;
}

}  // namespace munet::app
