// `munet train`: one ViT on one task from a random initialisation or a model file (--root);
// validates periodically, keeps the best validation's parameters and reports test accuracy.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "app/options.h"
#include "io/model_file.h"
#include "io/task_entries.h"
#include "app/safe_write.h"
#include "util/thread_pool.h"
#include "util/disk_space.h"
#include "util/publish_file.h"
#include "util/path_checks.h"
#include "nn/posembed_resize.h"
#include "nn/vit_model.h"
#include "train/progress.h"

namespace munet::app {
namespace {

// The model to fine-tune from a model file (--root): its components, the first --layers blocks,
// the position embedding resized for --image-size from the file's original grid, and its head
// when it was trained on this task (else a new zero head).
VitModel root_model(const std::string& path, const po::variables_map& vm, const TaskData& task, Backend& backend,
                    uint64_t seed, ViTConfig& cfg, std::unique_ptr<Component>& original_pos) {
  ModelFile m = read_model_file(path, backend);
  cfg = m.config;
  const int layers = vm["layers"].as<int>(), image_size = vm["image-size"].as<int>();
  MUNET_CHECK(layers <= cfg.layers, "--layers ", layers, ": the root ", path, " has only ", cfg.layers, " blocks");
  if (layers >= 0) cfg.layers = layers;
  if (image_size > 0) cfg.image_size = image_size;
  cfg.num_classes = task.num_classes;
  cfg.validate();
  original_pos = std::move(m.original_posembed);
  VitModel model;
  int blocks = 0;
  for (auto& c : m.components) {
    if (c->kind() == ComponentKind::EncoderBlock && blocks++ >= cfg.layers) continue;
    if (c->kind() == ComponentKind::Head && (m.task != task.name || m.config.num_classes != task.num_classes)) continue;
    if (c->kind() == ComponentKind::PosEmbed && cfg.image_size != m.config.image_size) {
      const Component& from = original_pos ? *original_pos : *c;
      Tensor host = Tensor::host(from.values().shape(), DType::F32);
      backend.copy(from.values(), host);
      const Tensor resized = resize_position_embedding(host.reshape(from.layout()[0].shape), cfg.grid());
      c = std::make_unique<Component>("posembed_" + std::to_string(cfg.image_size), ComponentKind::PosEmbed,
                                      component_layout(ComponentKind::PosEmbed, cfg), backend, DType::F32);
      backend.copy(resized.reshape(c->values().shape()), c->values());
    }
    model.components.push_back(std::move(c));
  }
  // At the original grid the route's embedding is the original: nothing to keep beside it.
  if (original_pos && original_pos->name() == "posembed_" + std::to_string(cfg.image_size)) original_pos.reset();
  if (model.components.back()->kind() != ComponentKind::Head)
    model.components.push_back(fresh_component("head", ComponentKind::Head, cfg, backend, seed));
  for (auto& c : model.components) model.route.push_back({c.get(), true});
  return model;
}

}  // namespace

int train_command(int argc, char** argv) {
  po::options_description all;
  all.add(common_options()).add(device_options()).add(train_task_options()).add(model_options()).add(training_options())
      .add(augmentation_options());
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet train [options]\n"
                     "Trains one ViT on one task from a random initialisation (or a model file: --root), validating "
                     "periodically, and reports test accuracy.",
                     all, vm))
    return 0;

  const auto t0 = std::chrono::steady_clock::now();
  const std::string task_name = vm["task"].as<std::string>();
  const std::string save = vm["save"].as<std::string>();
  if (!save.empty()) {  // before hours of training, not after
    refuse_output_is_input("--save", save, {{"--root", vm["root"].as<std::string>()}, {"--task", task_name},
                                            {"--config", vm.count("config") ? vm["config"].as<std::string>() : ""}});
    check_file_writable("--save", save);
  }
  const TaskData task = load_task_entry(task_name, vm["data"].as<std::string>());
  const std::string root_file = vm["root"].as<std::string>();
  ViTConfig cfg = root_file.empty() ? model_from(vm, task.num_classes) : ViTConfig{};
  const TrainConfig tc = training_from(vm);
  const DeviceSpec device = device_from(vm, threads_from(vm), 0);
  std::unique_ptr<Backend> backend = make_backend(device);
  // Data preparation threads: the backend's own (the CPU's), or a pool of their own beside a GPU.
  std::unique_ptr<ThreadPool> own_pool;
  if (!backend->thread_pool()) own_pool = std::make_unique<ThreadPool>(threads_from(vm));
  ThreadPool& host_pool = own_pool ? *own_pool : *backend->thread_pool();
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::unique_ptr<Component> original_pos;  // a root file's original-grid position embedding, saved along
  VitModel model = root_file.empty() ? fresh_vit(*backend, cfg, tc.seed)
                                     : root_model(root_file, vm, task, *backend, tc.seed, cfg, original_pos);
  if (!root_file.empty()) std::printf("root: %s\n", root_file.c_str());
  int64_t params = 0;
  for (const auto& c : model.components) params += c->size();
  // A model file holds the parameters (and a root's original position embedding) plus metadata.
  const int64_t model_bytes = (params + (original_pos ? original_pos->size() : 0)) * int64_t(sizeof(float)) + (1 << 20);
  if (!save.empty()) require_free_space(save, model_bytes);  // before the training, not after it
  std::printf("munet train: task %s (%lld train / %lld validation / %lld test, %d classes) from %s [%.1fs]\n",
              task.name.c_str(), (long long)task.train.size, (long long)task.validation.size,
              (long long)task.test.size, task.num_classes, task.source.c_str(), load_seconds);
  std::printf("content hash %s\n", task.content_hash.c_str());
  std::printf("model: ViT patch %d, hidden %d, MLP %d, %d heads, %d layers, %dx%d images, %lld parameters\n",
              cfg.patch, cfg.hidden, cfg.mlp, cfg.heads, cfg.layers, cfg.image_size, cfg.image_size,
              (long long)params);
  std::printf("training: %lld steps x batch %d, %d validations, lr %g (%s, warm-up %g), momentum %g%s, "
              "clip %g; backend %s\n",
              (long long)tc.steps, tc.batch_size, tc.validations, tc.lr, lr_schedule_name(tc.schedule),
              tc.warmup_ratio, tc.sgd.momentum, tc.sgd.nesterov ? " (Nesterov)" : "", tc.sgd.clip_norm,
              backend->describe().c_str());
  std::fflush(stdout);

  Network net(*backend, cfg, model.route);
  const TrainResult r = train_network(*backend, net, task, tc, host_pool, &std::cout);
  const EvalResult test = evaluate(*backend, net, task.test, 0, tc.eval_batch_size, host_pool);

  std::printf("\nresult: best validation accuracy %.2f%% at step %lld; training %s (%.0f img/s); total %s\n",
              100 * r.best_accuracy, (long long)r.best_step, format_duration(r.train_seconds).c_str(),
              double(r.images) / r.train_seconds, format_duration(r.seconds + load_seconds).c_str());
  if (!save.empty()) {
    std::vector<const Component*> route;
    for (const auto& c : model.components) route.push_back(c.get());
    const auto write = [&](const std::string& path) {
      write_model_file(path, cfg, task.name, route, *backend, original_pos.get());
    };
    try {
      write_or_explain(save, temporary_name(save), model_bytes, true, [&] { write(save); }, "");
    } catch (const Error& e) {  // the trained model is not lost: it goes to the temporary folder
      const char* tmpdir = std::getenv("TMPDIR");
      const std::string rescue = cat(tmpdir && *tmpdir ? tmpdir : "/tmp", "/munet-rescued-", ::getpid(), "-",
                                     save.substr(save.find_last_of('/') + 1));
      write_or_explain(rescue, temporary_name(rescue), model_bytes, true, [&] { write(rescue); }, "");
      fail(e.what(), "the trained model was saved to ", rescue, " instead");
    }
    std::printf("model saved to %s\n", save.c_str());
  }
  std::printf("validation_accuracy %.4f\n", r.best_accuracy);
  std::printf("test_accuracy %.4f\n", test.accuracy);
  return 0;
}

}  // namespace munet::app
