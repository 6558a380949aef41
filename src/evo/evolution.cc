// The evolution loop, turn by turn.
#include "evo/evolution.h"

#include <chrono>
#include <cstdio>
#include <ostream>
#include <set>

#include "evo/root_model.h"
#include "evo/sampling.h"

namespace munet {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Keys that separate the random streams of one (task, iteration, generation).
enum StreamKey : uint64_t { kSeedsKey = 1, kDatasetKey = 2, kChildKey = 3, kDataKey = 4, kInitKey = 5 };

}  // namespace

TaskSignature signature_of(const TaskData& task) {
  TaskSignature s;
  s.name = task.name;
  s.num_classes = task.num_classes;
  s.train = task.train.size, s.validation = task.validation.size, s.test = task.test.size;
  s.source = task.source, s.content_hash = task.content_hash, s.file = task.file;
  return s;
}

Evolution::Evolution(Backend& backend, ThreadPool& host_pool, EvolutionConfig cfg, std::vector<TaskData> tasks,
                     std::ostream* log, std::vector<std::unique_ptr<Component>> pretrained, Communicator* comm)
    : backend_(backend),
      host_(backend, host_pool),
      workers_(&host_),
      own_comm_(comm ? nullptr : single_process_communicator()),
      comm_(comm ? comm : own_comm_.get()),
      tasks_(std::move(tasks)),
      log_(log),
      space_((cfg.validate(), cfg.space())),
      rules_(child_rules(cfg)),
      pool_(backend),
      ranks_(*comm_, pool_) {
  st_.config = std::move(cfg);
  const EvolutionConfig& c = st_.config;
  MUNET_CHECK(!tasks_.empty(), "evolution needs at least one task");
  for (const TaskData& t : tasks_) st_.tasks.push_back(signature_of(t));
  st_.best.assign(tasks_.size(), kNoModel);
  st_.offspring.resize(tasks_.size());
  st_.children.assign(tasks_.size(), 0);
  st_.accepted.assign(tasks_.size(), 0);

  // The root model; every rank made it alike, and each keeps its share.
  std::vector<ComponentId> made;
  ModelRecord root = make_root(pool_, backend_, c, std::move(pretrained), made);
  root.id = st_.root = st_.next_model++;
  root.hparams = space_.defaults(c.root.image_size);
  ranks_.keep_home_share(made);
  root.accepted = true;
  st_.score.base = c.base;
  st_.score.flops_factor = c.flops_factor;
  st_.score.root_params = double(root.params);
  ViTConfig root_shape = c.root;
  root_shape.num_classes = 1;
  st_.score.root_flops = route_flops(pool_, root.route, root_shape);
  st_.models[root.id] = root;
}

Evolution::Evolution(Backend& backend, ThreadPool& host_pool, EvolutionState state, LayerPool pool,
                     std::vector<TaskData> tasks, std::ostream* log, Communicator* comm)
    : backend_(backend),
      host_(backend, host_pool),
      workers_(&host_),
      own_comm_(comm ? nullptr : single_process_communicator()),
      comm_(comm ? comm : own_comm_.get()),
      st_(std::move(state)),
      tasks_(std::move(tasks)),
      log_(log),
      space_((st_.config.validate(), st_.config.space())),
      rules_(child_rules(st_.config)),
      pool_(std::move(pool)),
      ranks_(*comm_, pool_) {
  MUNET_CHECK(tasks_.size() == st_.tasks.size(), "the run has ", st_.tasks.size(), " tasks, ", tasks_.size(),
              " were loaded");
  for (size_t t = 0; t < tasks_.size(); ++t) {
    const TaskSignature got = signature_of(tasks_[t]), want = st_.tasks[t];
    MUNET_CHECK(got == want, "task ", t, " is ", want.name, " with ", want.num_classes, " classes and ", want.train,
                "/", want.validation, "/", want.test, " train/validation/test examples and content hash ",
                want.content_hash.empty() ? "(none recorded)" : want.content_hash, " in the run, but the data "
                "loaded now is ", got.name, " with ", got.num_classes, " classes and ", got.train, "/",
                got.validation, "/", got.test, " and hash ", got.content_hash);
  }
  for (int c : st_.children) children_before_ += c;
  ranks_.check_home_share();
}

int Evolution::generations_per_turn() const {
  return (st_.config.turn_children() + st_.config.parallel_slots - 1) / st_.config.parallel_slots;
}

int64_t Evolution::total_generations() const {
  return int64_t(st_.config.turn_iterations()) * int64_t(tasks_.size()) * generations_per_turn();
}

int64_t Evolution::generations_done() const {
  // Every stage before the current one ran all its turns.
  const Progress& p = st_.progress;
  const int begin = stage_begin(st_.tasks.at(size_t(p.task)).stage), end = stage_end(st_.tasks[size_t(p.task)].stage);
  const int64_t turns = int64_t(begin) * st_.config.turn_iterations() + int64_t(p.iteration) * (end - begin) +
                        (p.task - begin);
  return turns * generations_per_turn() + p.generation;
}

int Evolution::stage_begin(int s) const {
  int t = 0;
  while (t < int(st_.tasks.size()) && st_.tasks[size_t(t)].stage < s) ++t;
  return t;
}

int Evolution::stage_end(int s) const { return stage_begin(s + 1); }

void Evolution::add_stage(std::vector<TaskData> tasks, const std::vector<std::string>& copies) {
  MUNET_CHECK(!tasks.empty(), "a stage needs at least one task");
  MUNET_CHECK(copies.size() == tasks.size(), "add_stage: ", tasks.size(), " tasks, ", copies.size(), " copies");
  for (size_t i = 0; i < tasks.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      MUNET_CHECK(tasks[j].name != tasks[i].name, "task '", tasks[i].name, "' is twice in the new stage");
    for (const TaskSignature& t : st_.tasks)
      MUNET_CHECK(t.name != tasks[i].name, "task '", tasks[i].name, "' is already in the run (stage ", t.stage + 1,
                  "); pack the new data under another --name");
  }
  const bool finished = done();
  const int stage = stages(), first = int(st_.tasks.size());
  const int64_t at = generations_done();
  for (size_t i = 0; i < tasks.size(); ++i) {
    TaskSignature sig = signature_of(tasks[i]);
    sig.stage = stage;
    sig.joined_at = at;
    sig.copy = copies[i];
    st_.tasks.push_back(sig);
    tasks_.push_back(std::move(tasks[i]));
    st_.best.push_back(kNoModel);
    st_.offspring.emplace_back();
    st_.children.push_back(0);
    st_.accepted.push_back(0);
  }
  if (finished) st_.progress = Progress{0, first, 0};
  if (log_)
    *log_ << "stage " << stage + 1 << " joins after " << at << " generations: " << tasks.size() << " task"
          << (tasks.size() == 1 ? "" : "s") << std::endl;
}

Hparams Evolution::generation_hparams(ModelId best, int task, int iteration, int generation) const {
  Hparams hp = st_.models.at(best != kNoModel ? best : st_.root).hparams;
  Rng rng(st_.config.seed, {uint64_t(task), uint64_t(iteration), uint64_t(generation), kDatasetKey});
  for (int i = 0; i < kHpCount; ++i)
    if (space_.spec(static_cast<Hp>(i)).dataset && rules_.mutate[i])
      space_.mutate(static_cast<Hp>(i), hp, st_.config.mu, rng);
  return hp;
}

double Evolution::current_score(const ModelRecord& m, int task) const {
  return score(m.quality, accounted_params(pool_, m.route, task), m.flops, st_.score);
}

ModelId Evolution::best_of(const std::vector<ModelId>& ids, int task) const {
  ModelId top = kNoModel;
  double top_score = 0;
  for (ModelId m : ids) {
    const double s = current_score(st_.models.at(m), task);
    if (top == kNoModel || better_model(s, m, top_score, top)) top = m, top_score = s;
  }
  return top;
}

RouteJob Evolution::job(const ModelRecord& m, uint64_t data_seed) const {
  const TaskData& task = tasks_.at(size_t(m.task));
  RouteJob j{&m, &task, model_shape(st_.config.root, m.hparams, task.num_classes),
             child_training(st_.config, m.hparams, task.train.size)};
  j.train.seed = data_seed;
  return j;
}

void Evolution::score_child(ModelRecord& child, int task) {
  const ViTConfig shape = model_shape(st_.config.root, child.hparams, tasks_[task].num_classes);
  child.accounted_params = accounted_params(pool_, child.route, task);
  child.flops = route_flops(pool_, child.route, shape);
  child.score = score(child.quality, child.accounted_params, child.flops, st_.score);
}

void Evolution::begin_turn(int task, int iteration) {
  // The population: the task's own models (its best so far), and the seeds.
  TurnState& turn = st_.turn;
  turn = TurnState{};
  if (st_.best[task] != kNoModel)
    turn.own.emplace_back(st_.best[task], current_score(st_.models.at(st_.best[task]), task));
  if (rules_.baseline.kind == BaselineKind::None)
    for (size_t t = 0; t < tasks_.size(); ++t)
      if (int(t) != task && st_.best[t] != kNoModel) turn.seeds.push_back(st_.best[t]);
  turn.seeds.push_back(st_.root);
  Rng seed_rng(st_.config.seed, {uint64_t(task), uint64_t(iteration), 0, kSeedsKey});
  seed_rng.shuffle(turn.seeds);
  if (log_)
    *log_ << "task " << tasks_[task].name << ", iteration " << iteration + 1 << "/" << st_.config.turn_iterations()
          << std::endl;
}

void Evolution::run_generation(int task, int iteration, int g) {
  const EvolutionConfig& c = st_.config;
  const TaskData& data = tasks_[task];
  TurnState& turn = st_.turn;
  ViTConfig shape = c.root;
  shape.num_classes = data.num_classes;
  const Hparams gen_hp = generation_hparams(best_of(turn_models(), task), task, iteration, g);
  const uint64_t data_seed = stream_id(c.seed, {uint64_t(task), uint64_t(iteration), uint64_t(g), kDataKey});
  // 1. Sample every child of the generation from the population as it stands.
  ParentSampler sampler(turn.own, turn.seeds, st_.offspring[task], turn.seed_start);
  std::vector<ModelRecord> children;
  int made = g * c.parallel_slots;
  for (int slot = 0; slot < c.parallel_slots && made < c.turn_children(); ++slot, ++made) {
    Rng rng(c.seed, {uint64_t(task), uint64_t(iteration), uint64_t(g), uint64_t(slot), kChildKey});
    // A paper baseline's parent is always the root.
    const ModelRecord& parent = st_.models.at(rules_.baseline.paper() ? st_.root : sampler.sample(rng));
    const ChildContext ctx{space_, pool_, st_.models, st_.root, task, shape,
                           stream_id(c.seed, {uint64_t(task), uint64_t(iteration), uint64_t(g), uint64_t(slot),
                                              kInitKey}),
                           &rules_, original_posembed(pool_, st_.models.at(st_.root))};
    children.push_back(make_child(ctx, parent, gen_hp, rng));
    ModelRecord& child = children.back();
    child.id = st_.next_model++;
    child.iteration = iteration;
    child.generation = g;
    child.slot = slot;
  }
  turn.seed_start = sampler.seed_start();
  // 2. Each child goes to a rank (balanced by its training cost), the home of its new
  // components; that rank fetches the shared components and clone or resize sources it lacks.
  const std::vector<int> trainer = ranks_.place_children(children, [&](const ModelRecord& m) {
    return route_flops(pool_, m.route, model_shape(c.root, m.hparams, data.num_classes));
  });
  // 3. Each rank's workers train its children on the generation's data stream.
  std::vector<size_t> mine;
  std::vector<RouteJob> jobs;
  for (size_t k = 0; k < children.size(); ++k) {
    if (trainer[k] != ranks_.rank()) continue;
    mine.push_back(k);
    for (ComponentId id : children[k].route)
      if (pool_.pending(id)) pool_.make_new(id);
    jobs.push_back(job(children[k], data_seed));
  }
  const std::vector<TrainResult> results = workers_->train(pool_, jobs);
  for (size_t j = 0; j < mine.size(); ++j) {
    ModelRecord& child = children[mine[j]];
    for (size_t i = 0; i < child.route.size(); ++i)
      if (child.route_trainable[i]) pool_.component(child.route[i]).drop_grad();
    for (const auto& v : results[j].validations) child.validation_accuracies.push_back(v.result.accuracy);
    child.quality = results[j].best_accuracy;
    child.train_seconds = results[j].seconds;
    child.train_images = results[j].images;
  }
  // 4. Every rank learns every result; new components are now held by their home ranks.
  ranks_.gather_results(children, trainer);
  for (ModelRecord& child : children) {
    for (size_t i = 0; i < child.route.size(); ++i)
      if (child.route_trainable[i]) {
        pool_.at(child.route[i]).recipe = Recipe{};
        pool_.component(child.route[i]).mark_trained();
      }
    score_child(child, task);
  }
  ranks_.evict();
  // 5. Early pruning: a child of a same-task parent must reach its parent's score.
  for (ModelRecord& child : children) {
    const ModelRecord& parent = st_.models.at(child.parent);
    child.accepted = parent.task != task || child.score >= current_score(parent, task);
    ++st_.children[task];
    if (child.accepted) {
      ++st_.accepted[task];
      turn.own.emplace_back(child.id, child.score);
    } else {
      for (size_t i = 0; i < child.route.size(); ++i)
        if (child.route_trainable[i]) pool_.remove(child.route[i]);
    }
    const ModelId id = child.id;
    st_.models[id] = std::move(child);
  }
  workers_->forget_removed(pool_);
  if (log_) log_generation(task, iteration, g, made);
}

void Evolution::log_generation(int task, int iteration, int g, int made) {
  const EvolutionConfig& c = st_.config;
  GenerationProgress p;
  p.task = tasks_[task].name;
  p.iteration = iteration + 1, p.generation = g + 1, p.generations = generations_per_turn();
  p.made = made, p.children = c.turn_children(), p.accepted = st_.accepted[task];
  p.best = best_of(turn_models(), task);
  p.best_score = p.best == kNoModel ? 0.0 : current_score(st_.models.at(p.best), task);
  p.pool_params = pool_.total_params();
  int64_t done = -children_before_;
  for (int n : st_.children) done += n;
  const int64_t remaining = int64_t(tasks_.size()) * c.turn_iterations() * c.turn_children() - children_before_ - done;
  if (done > 0) p.eta_seconds = (now_seconds() - started_) / double(done) * double(remaining);
  if (ranks_.size() > 1) p.ranks = ranks_.stats();
  p.workers_note = workers_->note();
  *log_ << progress_line(p) << std::endl;
}

std::vector<ModelId> Evolution::turn_models() const {
  std::vector<ModelId> ids;
  for (const auto& [id, s] : st_.turn.own) ids.push_back(id);
  return ids;
}

void Evolution::finish_turn(int task) {
  // Best model of the turn: highest score, ties to the newest.
  st_.best[task] = best_of(turn_models(), task);
  MUNET_CHECK(st_.best[task] != kNoModel, "task ", tasks_[task].name, " ended its turn without a model");
  st_.turn = TurnState{};
  // Lock the best model's components for the other tasks; drop every component no kept model uses.
  pool_.set_locks(task, st_.models.at(st_.best[task]).route);
  std::set<ComponentId> used(st_.models.at(st_.root).route.begin(), st_.models.at(st_.root).route.end());
  if (const ComponentId original = original_posembed(pool_, st_.models.at(st_.root)); original >= 0)
    used.insert(original);
  for (ModelId b : st_.best)
    if (b != kNoModel) used.insert(st_.models.at(b).route.begin(), st_.models.at(b).route.end());
  pool_.keep_only(used);
  workers_->forget_removed(pool_);
  // Test accuracy of every task's best model. A best model's components are locked and never
  // change, so one evaluation holds for as long as it stays its task's best.
  // Every rank evaluates its share of the test batches (see evaluate) of every model to test.
  std::vector<ModelRecord*> pending;
  std::vector<const ModelRecord*> routes;
  std::vector<RouteJob> jobs;
  for (size_t t = 0; t < tasks_.size(); ++t) {
    if (st_.best[t] == kNoModel || st_.models.at(st_.best[t]).test_accuracy >= 0) continue;
    pending.push_back(&st_.models.at(st_.best[t]));
    routes.push_back(pending.back());
    jobs.push_back(job(*pending.back()));
  }
  if (!pending.empty()) {
    ranks_.fetch_everywhere(routes);
    std::vector<int64_t> correct;
    for (const EvalResult& r : workers_->test(pool_, jobs, ranks_.rank(), ranks_.size())) correct.push_back(r.correct);
    correct = ranks_.sum_counts(correct);
    for (size_t i = 0; i < pending.size(); ++i) {
      const ImageSet& test = tasks_[size_t(pending[i]->task)].test;
      pending[i]->test_accuracy = test.size > 0 ? double(correct[i]) / double(test.size) : 0.0;
    }
    ranks_.evict();
  }
  if (log_) print_task_table(*log_, summaries(), pool_);
}

void Evolution::step() {
  MUNET_CHECK(!done(), "the evolution has run all its generations");
  if (started_ == 0) started_ = now_seconds();
  Progress& p = st_.progress;
  if (p.generation == 0) begin_turn(p.task, p.iteration);
  run_generation(p.task, p.iteration, p.generation);
  if (++p.generation < generations_per_turn()) return;
  finish_turn(p.task);
  p.generation = 0;
  // The next turn: the stage's next task, its next round, or the next stage's first turn.
  const int stage = st_.tasks[size_t(p.task)].stage, begin = stage_begin(stage), end = stage_end(stage);
  if (++p.task < end) return;
  p.task = begin;
  if (++p.iteration == st_.config.turn_iterations() && end < int(tasks_.size())) p = Progress{0, end, 0};
}

void Evolution::turn(int task, int iteration) {
  MUNET_CHECK(task >= 0 && task < int(tasks_.size()) && iteration >= 0 &&
                  iteration < st_.config.turn_iterations() && st_.progress.generation == 0,
              "turn(", task, ", ", iteration, "): not a task's turn to begin");
  st_.progress = Progress{iteration, task, 0};
  for (int g = 0; g < generations_per_turn(); ++g) step();
}

void Evolution::run(const std::function<void()>& after_generation) {
  started_ = now_seconds();
  while (!done()) {
    step();
    if (after_generation) after_generation();
  }
}

Tensor Evolution::logits(ModelId model, const Tensor& images) {
  return workers_->logits(pool_, job(st_.models.at(model)), images);
}

std::vector<TaskSummary> Evolution::summaries() const {
  return summarize(st_, pool_sizes(pool_));
}

}  // namespace munet
