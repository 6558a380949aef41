// The evolution loop, turn by turn.
#include "evo/evolution.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <set>

#include "evo/sampling.h"
#include "nn/vit_model.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace munet {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Keys that separate the random streams of one (task, iteration, generation).
enum StreamKey : uint64_t { kSeedsKey = 1, kDatasetKey = 2, kChildKey = 3, kDataKey = 4, kInitKey = 5 };

}  // namespace

void EvolutionConfig::validate() const {
  root.validate();
  MUNET_CHECK(task_iterations >= 1, "task iterations must be >= 1, got ", task_iterations);
  MUNET_CHECK(children_per_task >= 1, "children per task must be >= 1, got ", children_per_task);
  MUNET_CHECK(parallel_slots >= 1, "parallel slots must be >= 1, got ", parallel_slots);
  MUNET_CHECK(validations >= 1 && steps_per_validation >= 1, "validations (", validations,
              ") and steps per validation (", steps_per_validation, ") must be >= 1");
  MUNET_CHECK(batch_size >= 1, "batch size must be >= 1, got ", batch_size);
  MUNET_CHECK(base > 0 && base <= 1, "score base must be in (0, 1], got ", base);
  MUNET_CHECK(max_image_size >= root.image_size && max_image_size % root.patch == 0, "largest image size ",
              max_image_size, " must be a multiple of the patch size ", root.patch, " and >= the root's ",
              root.image_size);
}

Evolution::Evolution(Backend& backend, ThreadPool& host_pool, EvolutionConfig cfg, std::vector<TaskData> tasks,
                     std::ostream* log, std::vector<std::unique_ptr<Component>> pretrained)
    : backend_(backend),
      host_pool_(host_pool),
      cfg_(std::move(cfg)),
      tasks_(std::move(tasks)),
      log_(log),
      space_(cfg_.root.patch, cfg_.root.layers, cfg_.max_image_size),
      pool_(backend) {
  cfg_.validate();
  MUNET_CHECK(!tasks_.empty(), "evolution needs at least one task");
  best_.assign(tasks_.size(), kNoModel);
  offspring_.resize(tasks_.size());
  children_.assign(tasks_.size(), 0);
  accepted_.assign(tasks_.size(), 0);

  // The root model: a fresh ViT (its head is never reused: heads belong to tasks).
  ModelRecord root;
  root.id = root_ = next_model_++;
  root.hparams = space_.defaults(cfg_.root.image_size);
  ViTConfig rc = cfg_.root;
  rc.num_classes = 1;
  const auto names = vit_component_names(rc, /*with_head=*/false);
  // Heads belong to tasks: a pretrained model's head is not part of the root.
  pretrained.erase(std::remove_if(pretrained.begin(), pretrained.end(),
                                  [](const auto& c) { return c->kind() == ComponentKind::Head; }),
                   pretrained.end());
  if (!pretrained.empty()) {
    MUNET_CHECK(pretrained.size() == names.size(), "the pretrained root has ", pretrained.size(),
                " components without its head, a ViT of ", rc.layers, " layers has ", names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      const ComponentKind kind = names[i].second;
      MUNET_CHECK(pretrained[i]->name() == names[i].first && pretrained[i]->kind() == kind &&
                      layout_matches(*pretrained[i], component_layout(kind, rc)),
                  "pretrained root component ", i, " ('", pretrained[i]->name(), "') does not fit a ViT with hidden ",
                  rc.hidden, ", ", rc.layers, " layers at ", rc.image_size, "x", rc.image_size);
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& [name, kind] = names[i];
    root.route.push_back(pool_.add(
        kRootTask, pretrained.empty() ? fresh_component(name, kind, rc, backend_, cfg_.seed) : std::move(pretrained[i])));
    root.route_names.push_back(name);
    root.route_trainable.push_back(false);
  }
  for (ComponentId id : root.route) root.params += pool_.at(id).component->size();
  root.accepted = true;
  score_cfg_.base = cfg_.base;
  score_cfg_.flops_factor = cfg_.flops_factor;
  score_cfg_.root_params = double(root.params);
  score_cfg_.root_flops = route_flops(pool_, root.route, rc);
  models_[root.id] = root;
}

Hparams Evolution::generation_hparams(ModelId best, int task, int iteration, int generation) const {
  Hparams hp = models_.at(best != kNoModel ? best : root_).hparams;
  Rng rng(cfg_.seed, {uint64_t(task), uint64_t(iteration), uint64_t(generation), kDatasetKey});
  const double default_mu = space_.defaults(cfg_.root.image_size).mu();
  for (int i = 0; i < kHpCount; ++i)
    if (space_.spec(static_cast<Hp>(i)).dataset) space_.mutate(static_cast<Hp>(i), hp, default_mu, rng);
  return hp;
}

double Evolution::current_score(const ModelRecord& m, int task) const {
  return score(m.quality, accounted_params(pool_, m.route, task), m.flops, score_cfg_);
}

ModelId Evolution::best_of(const std::vector<ModelId>& ids, int task) const {
  ModelId top = kNoModel;
  double top_score = 0;
  for (ModelId m : ids) {
    const double s = current_score(models_.at(m), task);
    if (top == kNoModel || better_model(s, m, top_score, top)) top = m, top_score = s;
  }
  return top;
}

std::vector<RouteStep> Evolution::route_steps(const ModelRecord& m, bool with_trainable) {
  std::vector<RouteStep> steps;
  for (size_t i = 0; i < m.route.size(); ++i)
    steps.push_back({&pool_.component(m.route[i]), with_trainable && m.route_trainable[i]});
  return steps;
}

void Evolution::train_child(ModelRecord& child, int task, uint64_t data_seed) {
  const TaskData& data = tasks_[task];
  const ViTConfig shape = model_shape(cfg_.root, child.hparams, data.num_classes);
  Network net(backend_, shape, route_steps(child, true));
  TrainConfig tc;
  tc.batch_size = cfg_.batch_size;
  tc.steps = int64_t(cfg_.validations) * cfg_.steps_per_validation;
  tc.validations = cfg_.validations;
  tc.schedule = child.hparams.schedule();
  tc.lr = child.hparams[Hp::Lr];
  tc.warmup_ratio = child.hparams[Hp::WarmupRatio];
  tc.sgd.momentum = child.hparams[Hp::Momentum];
  tc.sgd.nesterov = child.hparams[Hp::Nesterov] != 0;
  tc.augmentation = child.hparams.augmentation();
  tc.max_validation_examples = cfg_.max_validation_examples;
  tc.eval_batch_size = cfg_.eval_batch_size;
  tc.seed = data_seed;
  tc.log_every = 0;
  const TrainResult r = train_network(backend_, net, data, tc, host_pool_, nullptr);
  for (const auto& v : r.validations) child.validation_accuracies.push_back(v.result.accuracy);
  child.quality = r.best_accuracy;
  child.train_seconds = r.seconds;
  child.train_images = r.images;
  child.accounted_params = accounted_params(pool_, child.route, task);
  child.flops = route_flops(pool_, child.route, shape);
  child.score = score(child.quality, child.accounted_params, child.flops, score_cfg_);
}

void Evolution::turn(int task, int iteration) {
  const TaskData& data = tasks_[task];
  // The population: the task's own models (its best so far), and the seeds.
  std::vector<ModelId> turn_models;
  std::vector<std::pair<ModelId, double>> own;
  if (best_[task] != kNoModel) {
    turn_models.push_back(best_[task]);
    own.emplace_back(best_[task], current_score(models_.at(best_[task]), task));
  }
  std::vector<ModelId> seeds;
  if (!cfg_.baseline)
    for (size_t t = 0; t < tasks_.size(); ++t)
      if (int(t) != task && best_[t] != kNoModel) seeds.push_back(best_[t]);
  seeds.push_back(root_);
  Rng seed_rng(cfg_.seed, {uint64_t(task), uint64_t(iteration), 0, kSeedsKey});
  seed_rng.shuffle(seeds);
  ParentSampler sampler(own, seeds, offspring_[task]);

  const int generations = (cfg_.children_per_task + cfg_.parallel_slots - 1) / cfg_.parallel_slots;
  const int total_children = int(tasks_.size()) * cfg_.task_iterations * cfg_.children_per_task;
  ViTConfig shape = cfg_.root;
  shape.num_classes = data.num_classes;
  int made = 0;
  for (int g = 0; g < generations; ++g) {
    const Hparams gen_hp = generation_hparams(best_of(turn_models, task), task, iteration, g);
    const uint64_t data_seed = stream_id(cfg_.seed, {uint64_t(task), uint64_t(iteration), uint64_t(g), kDataKey});
    // 1. Sample every child of the generation from the population as it stands.
    std::vector<ModelRecord> children;
    for (int slot = 0; slot < cfg_.parallel_slots && made < cfg_.children_per_task; ++slot, ++made) {
      Rng rng(cfg_.seed, {uint64_t(task), uint64_t(iteration), uint64_t(g), uint64_t(slot), kChildKey});
      const ModelRecord& parent = models_.at(sampler.sample(rng));
      const ChildContext ctx{space_, pool_, backend_, models_, root_, task, shape,
                             stream_id(cfg_.seed, {uint64_t(task), uint64_t(iteration), uint64_t(g),
                                                   uint64_t(slot), kInitKey})};
      children.push_back(make_child(ctx, parent, gen_hp, rng));
      ModelRecord& child = children.back();
      child.id = next_model_++;
      child.iteration = iteration;
      child.generation = g;
      child.slot = slot;
    }
    // 2. Train them all on the generation's data stream.
    for (ModelRecord& child : children) train_child(child, task, data_seed);
    // 3. Early pruning: a child of a same-task parent must reach its parent's score.
    for (ModelRecord& child : children) {
      const ModelRecord& parent = models_.at(child.parent);
      child.accepted = parent.task != task || child.score >= current_score(parent, task);
      ++children_[task];
      if (child.accepted) {
        ++accepted_[task];
        sampler.add_own(child.id, child.score);
        turn_models.push_back(child.id);
      } else {
        for (size_t i = 0; i < child.route.size(); ++i)
          if (child.route_trainable[i]) pool_.remove(child.route[i]);
      }
      ++children_done_;
      const ModelId id = child.id;
      models_[id] = std::move(child);
    }
    if (log_) {
      const ModelId top = best_of(turn_models, task);
      const double elapsed = now_seconds() - started_;
      const double eta = elapsed / children_done_ * (total_children - children_done_);
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "  %s iteration %d generation %d/%d: children %d/%d (accepted %d), best score %.4f "
                    "(model %lld), pool %.2fM params, ETA %s",
                    data.name.c_str(), iteration + 1, g + 1, generations, made, cfg_.children_per_task,
                    accepted_[task], top == kNoModel ? 0.0 : current_score(models_.at(top), task),
                    (long long)top, pool_.total_params() / 1e6, format_duration(eta).c_str());
      *log_ << buf << std::endl;
    }
  }
  // Best model of the turn: highest score, ties to the newest.
  best_[task] = best_of(turn_models, task);
  MUNET_CHECK(best_[task] != kNoModel, "task ", data.name, " ended its turn without a model");
  finish_turn(task);
}

void Evolution::finish_turn(int task) {
  // Lock the best model's components for the other tasks; drop every component no kept model uses.
  pool_.set_locks(task, models_.at(best_[task]).route);
  std::set<ComponentId> used(models_.at(root_).route.begin(), models_.at(root_).route.end());
  for (ModelId b : best_)
    if (b != kNoModel) used.insert(models_.at(b).route.begin(), models_.at(b).route.end());
  pool_.keep_only(used);
  // Test accuracy of every task's best model. A best model's components are locked and never
  // change, so one evaluation holds for as long as it stays its task's best.
  for (size_t t = 0; t < tasks_.size(); ++t) {
    if (best_[t] == kNoModel || models_.at(best_[t]).test_accuracy >= 0) continue;
    ModelRecord& m = models_.at(best_[t]);
    Network net(backend_, model_shape(cfg_.root, m.hparams, tasks_[t].num_classes), route_steps(m, false));
    m.test_accuracy = evaluate(backend_, net, tasks_[t].test, 0, cfg_.eval_batch_size, host_pool_).accuracy;
  }
}

void Evolution::run() {
  started_ = now_seconds();
  children_done_ = 0;
  for (int it = 0; it < cfg_.task_iterations; ++it)
    for (size_t t = 0; t < tasks_.size(); ++t) {
      if (log_) *log_ << "task " << tasks_[t].name << ", iteration " << it + 1 << "/" << cfg_.task_iterations << std::endl;
      turn(int(t), it);
      if (log_) print_table(*log_);
    }
}

Tensor Evolution::logits(ModelId model, const Tensor& images) {
  const ModelRecord& m = models_.at(model);
  Network net(backend_, model_shape(cfg_.root, m.hparams, tasks_.at(m.task).num_classes), route_steps(m, false));
  const Tensor& out = net.forward(images);
  Tensor copy = Tensor::host(out.shape(), out.dtype());
  backend_.copy(out, copy);
  return copy;
}

std::vector<TaskSummary> Evolution::summaries() const {
  std::vector<TaskSummary> out;
  const double pool_total = double(pool_.total_params());
  for (size_t t = 0; t < tasks_.size(); ++t) {
    TaskSummary s;
    s.task = tasks_[t].name;
    s.best = best_[t];
    s.children = children_[t];
    s.accepted = accepted_[t];
    if (s.best != kNoModel) {
      const ModelRecord& m = models_.at(s.best);
      s.validation_accuracy = m.quality;
      s.test_accuracy = m.test_accuracy;
      s.score = m.score;
      s.activated_params = m.params;
      for (ComponentId id : m.route) {
        const PoolComponent& e = pool_.at(id);
        if (e.owner == int(t)) s.owned_params += e.component->size();
      }
      s.activated_share = s.activated_params / pool_total;
    }
    out.push_back(s);
  }
  return out;
}

void Evolution::print_table(std::ostream& out) const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-22s %9s %9s %12s %12s %10s %9s", "task", "val acc", "test acc",
                "activated", "new (owned)", "pool share", "accepted");
  out << buf << "\n";
  for (const TaskSummary& s : summaries()) {
    if (s.best == kNoModel) continue;
    std::snprintf(buf, sizeof buf, "%-22s %8.2f%% %8.2f%% %12lld %12lld %9.1f%% %5d/%-3d", s.task.c_str(),
                  100 * s.validation_accuracy, 100 * s.test_accuracy, (long long)s.activated_params,
                  (long long)s.owned_params, 100 * s.activated_share, s.accepted, s.children);
    out << buf << "\n";
  }
  std::snprintf(buf, sizeof buf, "pool: %zu components, %lld parameters in total", pool_.size(),
                (long long)pool_.total_params());
  out << buf << std::endl;
}

}  // namespace munet
