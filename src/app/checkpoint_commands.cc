// `munet inspect` and `munet export`: reading a checkpoint offline. inspect prints the run's
// progress, the per-task table and the pool (or JSON for scripts) without reading parameters;
// export writes one task's best model as a self-contained model file (munet predict runs it).
#include <cstdio>
#include <iostream>
#include <set>

#include "app/commands.h"
#include "app/options.h"
#include "evo/child.h"
#include "io/checkpoint.h"
#include "io/model_file.h"
#include "app/safe_write.h"
#include "kernels/cpu/cpu_backend.h"
#include "util/publish_file.h"
#include "util/path_checks.h"

namespace munet::app {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += c;
  }
  return out + "\"";
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

int inspect_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("checkpoint", po::value<std::string>(), "checkpoint file")(
      "json", po::bool_switch(), "print JSON (for scripts) instead of tables");
  po::positional_options_description pos;
  pos.add("checkpoint", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet inspect CHECKPOINT [--json]\nShows a checkpoint's tasks, best models, accuracies, "
                     "pool size, parameters per task and generations done.",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("checkpoint"), "no checkpoint given (usage: munet inspect CHECKPOINT [--json])");
  const std::string path = vm["checkpoint"].as<std::string>();
  const CheckpointInfo info = read_checkpoint_info(path);
  const EvolutionState& st = info.state;
  PoolSizes sizes;
  int64_t total = 0;
  std::map<int, int64_t> per_owner;
  for (const PoolEntryInfo& e : info.pool) sizes[e.id] = {e.owner, e.size}, total += e.size, per_owner[e.owner] += e.size;
  const std::vector<TaskSummary> rows = summarize(st, sizes);
  if (vm["json"].as<bool>()) {
    std::cout << "{\n  \"checkpoint\": " << json_string(path) << ",\n  \"format_version\": " << info.format_version
              << ",\n  \"generations_done\": " << info.generations_done
              << ",\n  \"total_generations\": " << info.total_generations
              << ",\n  \"complete_run\": " << (info.generations_done == info.total_generations ? "true" : "false")
              << ",\n  \"models\": " << st.models.size() << ",\n  \"pool\": {\"components\": " << info.pool.size()
              << ", \"parameters\": " << total << ", \"root_parameters\": " << per_owner[kRootTask] << "},\n  \"tasks\": [";
    for (size_t i = 0; i < rows.size(); ++i) {
      const TaskSummary& r = rows[i];
      std::cout << (i ? "," : "") << "\n    {\"task\": " << json_string(r.task) << ", \"best_model\": " << r.best
                << ", \"validation_accuracy\": " << json_number(r.best == kNoModel ? -1.0 : r.validation_accuracy)
                << ", \"test_accuracy\": " << json_number(r.test_accuracy) << ", \"activated_params\": " << r.activated_params
                << ", \"owned_params\": " << r.owned_params << ", \"params_created\": " << per_owner[int(i)]
                << ", \"activated_share\": " << json_number(r.activated_share) << ", \"children\": " << r.children
                << ", \"accepted\": " << r.accepted << ", \"source\": " << json_string(st.tasks[i].source)
                << ", \"content_hash\": " << json_string(st.tasks[i].content_hash)
                << ", \"task_file\": " << json_string(st.tasks[i].file) << ", \"stage\": " << st.tasks[i].stage + 1
                << ", \"joined_at\": " << st.tasks[i].joined_at << ", \"task_copy\": " << json_string(st.tasks[i].copy)
                << "}";
    }
    std::cout << "\n  ]\n}" << std::endl;
    return 0;
  }
  std::printf("%s: munet checkpoint version %lld\n", path.c_str(), (long long)info.format_version);
  std::printf("run: %s\n", info.run.command_line.c_str());
  std::printf("generations: %lld of %lld done%s\n", (long long)info.generations_done,
              (long long)info.total_generations, info.generations_done == info.total_generations ? " (complete)" : "");
  std::printf("models sampled: %zu; pool: %zu components, %lld parameters (root %lld)\n\n", st.models.size(),
              info.pool.size(), (long long)total, (long long)per_owner[kRootTask]);
  std::printf("%-22s %6s %9s %9s %12s %12s %12s %10s %9s\n", "task", "best", "val acc", "test acc", "activated",
              "new (owned)", "created", "pool share", "accepted");
  for (size_t i = 0; i < rows.size(); ++i) {
    const TaskSummary& r = rows[i];
    if (r.best == kNoModel) {
      std::printf("%-22s (no turn yet)\n", r.task.c_str());
      continue;
    }
    std::printf("%-22s %6lld %8.2f%% %8.2f%% %12lld %12lld %12lld %9.1f%% %5d/%-3d\n", r.task.c_str(),
                (long long)r.best, 100 * r.validation_accuracy, 100 * r.test_accuracy, (long long)r.activated_params,
                (long long)r.owned_params, (long long)per_owner[int(i)], 100 * r.activated_share, r.accepted, r.children);
  }
  std::printf("\n%-22s %5s %-32s %s\n", "task", "stage", "content hash", "source");
  for (const TaskSignature& t : st.tasks)
    std::printf("%-22s %5d %-32s %s\n", t.name.c_str(), t.stage + 1, t.content_hash.empty() ? "(not recorded)" : t.content_hash.c_str(),
                t.source.empty() ? "(not recorded)" : t.source.c_str());
  return 0;
}

int export_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("checkpoint", po::value<std::string>(), "checkpoint file")(
      "task", po::value<std::string>(), "the task whose best model to export")(
      "output", po::value<std::string>()->default_value(""), "model file to write (default: <task>.h5)");
  po::positional_options_description pos;
  pos.add("checkpoint", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet export CHECKPOINT --task TASK [--output FILE]\nWrites the task's best model (its "
                     "route's weights, ViT shape and class count) as a self-contained HDF5 model file, for munet "
                     "predict or munet evolve --root.",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("checkpoint") && vm.count("task"), "usage: munet export CHECKPOINT --task TASK [--output FILE]");
  const std::string path = vm["checkpoint"].as<std::string>(), task = vm["task"].as<std::string>();
  std::string out = vm["output"].as<std::string>();
  if (out.empty()) out = task + ".h5";
  refuse_output_is_input("--output", out, {{"CHECKPOINT", path}});
  check_file_writable("--output", out);
  const CheckpointInfo info = read_checkpoint_info(path);
  const EvolutionState& st = info.state;
  int t = -1;
  std::string names;
  for (size_t i = 0; i < st.tasks.size(); ++i) {
    names += (i ? ", " : "") + st.tasks[i].name;
    if (st.tasks[i].name == task) t = int(i);
  }
  MUNET_CHECK(t >= 0, path, ": the run has no task '", task, "' (its tasks: ", names, ")");
  MUNET_CHECK(st.best[t] != kNoModel, path, ": task ", task, " has no best model yet (its turn has not ended)");
  const ModelRecord& m = st.models.at(st.best[t]);
  CpuBackend backend(1);
  auto components = read_components(path, m.route, backend);
  std::vector<const Component*> route;
  for (ComponentId id : m.route) route.push_back(components.at(id).get());
  const ViTConfig shape = model_shape(st.config.root, m.hparams, st.tasks[t].num_classes);
  int64_t params = 0;
  for (const Component* c : route) params += c->size();
  write_or_explain(out, temporary_name(out), params * int64_t(sizeof(float)) + (1 << 20), true,
                   [&] { write_model_file(out, shape, task, route, backend); }, "the checkpoint is untouched");
  std::printf("exported model %lld of task %s (validation %.2f%%, test %.2f%%, %lld parameters, %dx%d images) to %s\n",
              (long long)m.id, task.c_str(), 100 * m.quality, 100 * m.test_accuracy, (long long)m.params,
              shape.image_size, shape.image_size, out.c_str());
  return 0;
}

}  // namespace munet::app
