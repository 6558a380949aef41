// The evolution loop, turn by turn.
#include "evo/evolution.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <set>

#include "evo/sampling.h"
#include "nn/vit_model.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace munet {
namespace {

// The position embedding at a pretrained root's checkpoint grid: the root-owned one off the
// root's route (found in the pool, so a resumed run finds it too); -1 for a random root.
ComponentId original_posembed(const LayerPool& pool, const ModelRecord& root) {
  for (const auto& [id, e] : pool.entries())
    if (e.owner == kRootTask && e.component->kind() == ComponentKind::PosEmbed &&
        std::find(root.route.begin(), root.route.end(), id) == root.route.end())
      return id;
  return -1;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Keys that separate the random streams of one (task, iteration, generation).
enum StreamKey : uint64_t { kSeedsKey = 1, kDatasetKey = 2, kChildKey = 3, kDataKey = 4, kInitKey = 5 };

// Values as one rank sends them to the others (bit-exact), and read back in the same order.
template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T take(const std::string& in, size_t& at) {
  MUNET_CHECK(at + sizeof(T) <= in.size(), "truncated message from another rank");
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

void append_result(std::string& out, const ModelRecord& child) {
  put(out, child.id);
  put(out, child.quality);
  put(out, child.train_seconds);
  put(out, child.train_images);
  put(out, uint64_t(child.validation_accuracies.size()));
  for (double a : child.validation_accuracies) put(out, a);
}

void read_result(const std::string& in, size_t& at, ModelRecord& child) {
  const ModelId id = take<ModelId>(in, at);
  MUNET_CHECK(id == child.id, "another rank sent the result of model ", id, " where model ", child.id, " was expected");
  child.quality = take<double>(in, at);
  child.train_seconds = take<double>(in, at);
  child.train_images = take<int64_t>(in, at);
  child.validation_accuracies.resize(take<uint64_t>(in, at));
  for (double& a : child.validation_accuracies) a = take<double>(in, at);
}

}  // namespace

TrainConfig child_training(const EvolutionConfig& c, const Hparams& hp, int64_t train_examples) {
  TrainConfig tc;
  tc.batch_size = c.batch_size;
  tc.validations = c.child_validations();
  tc.steps = int64_t(tc.validations) * c.steps_per_validation_for(train_examples);
  tc.schedule = hp.schedule();
  tc.lr = hp[Hp::Lr];
  tc.warmup_ratio = hp[Hp::WarmupRatio];
  tc.sgd.momentum = hp[Hp::Momentum];  // 0: none
  tc.sgd.nesterov = hp[Hp::Nesterov] != 0;
  tc.augmentation = hp.augmentation();
  tc.max_validation_examples = c.max_validation_examples;
  tc.eval_batch_size = c.eval_batch_size;
  tc.log_every = 0;
  return tc;
}

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
      host_pool_(host_pool),
      own_comm_(comm ? nullptr : single_process_communicator()),
      comm_(comm ? comm : own_comm_.get()),
      tasks_(std::move(tasks)),
      log_(log),
      space_((cfg.validate(), cfg.space())),
      rules_(child_rules(cfg)),
      pool_(backend) {
  st_.config = std::move(cfg);
  const EvolutionConfig& c = st_.config;
  MUNET_CHECK(!tasks_.empty(), "evolution needs at least one task");
  for (const TaskData& t : tasks_) st_.tasks.push_back(signature_of(t));
  st_.best.assign(tasks_.size(), kNoModel);
  st_.offspring.resize(tasks_.size());
  st_.children.assign(tasks_.size(), 0);
  st_.accepted.assign(tasks_.size(), 0);

  // The root model: a fresh ViT (its head is never reused: heads belong to tasks).
  ModelRecord root;
  root.id = st_.root = st_.next_model++;
  root.hparams = space_.defaults(c.root.image_size);
  ViTConfig rc = c.root;
  rc.num_classes = 1;
  const auto names = vit_component_names(rc, /*with_head=*/false);
  // Heads belong to tasks: a pretrained model's head is not part of the root.
  pretrained.erase(std::remove_if(pretrained.begin(), pretrained.end(),
                                  [](const auto& p) { return p->kind() == ComponentKind::Head; }),
                   pretrained.end());
  // A pretrained root's position embedding at its checkpoint's grid rides along off the route:
  // every later resize starts from it (MU2NET.md, "Small notes").
  std::unique_ptr<Component> original_pos;
  const std::string route_pos = "posembed_" + std::to_string(rc.image_size);
  for (auto it = pretrained.begin(); it != pretrained.end(); ++it)
    if ((*it)->kind() == ComponentKind::PosEmbed && (*it)->name() != route_pos) {
      original_pos = std::move(*it);
      pretrained.erase(it);
      const int64_t rows = original_pos->layout()[0].shape[0], grid = std::llround(std::sqrt(double(rows - 1)));
      MUNET_CHECK(grid * grid == rows - 1 && original_pos->layout()[0].shape[1] == rc.hidden,
                  "the pretrained root's original position embedding '", original_pos->name(), "' has shape ",
                  shape_str(original_pos->layout()[0].shape), ", not [1 + grid^2, ", rc.hidden, "]");
      break;
    }
  // A pretrained root without a separate original grid: its own embedding is the checkpoint's
  // grid. A copy goes off the route beside it, so that the pool itself records (through
  // checkpoints too) where resizes start.
  if (!pretrained.empty() && !original_pos) {
    for (const auto& p : pretrained)
      if (p->kind() == ComponentKind::PosEmbed) {
        original_pos = std::make_unique<Component>(p->name(), p->kind(), p->layout(), backend_, p->dtype());
        backend_.copy(p->values(), original_pos->values());
        break;
      }
  }
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
        kRootTask, pretrained.empty() ? fresh_component(name, kind, rc, backend_, c.seed) : std::move(pretrained[i])));
    root.route_names.push_back(name);
    root.route_trainable.push_back(false);
  }
  for (ComponentId id : root.route) root.params += pool_.at(id).component->size();
  std::vector<ComponentId> made = root.route;
  if (original_pos) made.push_back(pool_.add(kRootTask, std::move(original_pos)));
  // Every rank made the root alike; each keeps its share (home: id mod ranks).
  for (ComponentId id : made) {
    pool_.at(id).home = int(id % comm_->size());
    if (pool_.at(id).home != comm_->rank()) pool_.component(id).release();
  }
  root.accepted = true;
  st_.score.base = c.base;
  st_.score.flops_factor = c.flops_factor;
  st_.score.root_params = double(root.params);
  st_.score.root_flops = route_flops(pool_, root.route, rc);
  st_.models[root.id] = root;
}

Evolution::Evolution(Backend& backend, ThreadPool& host_pool, EvolutionState state, LayerPool pool,
                     std::vector<TaskData> tasks, std::ostream* log, Communicator* comm)
    : backend_(backend),
      host_pool_(host_pool),
      own_comm_(comm ? nullptr : single_process_communicator()),
      comm_(comm ? comm : own_comm_.get()),
      st_(std::move(state)),
      tasks_(std::move(tasks)),
      log_(log),
      space_((st_.config.validate(), st_.config.space())),
      rules_(child_rules(st_.config)),
      pool_(std::move(pool)) {
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
  for (const auto& [id, e] : pool_.entries()) {
    const int home = int(id % comm_->size());
    MUNET_CHECK(e.component->resident() == (home == comm_->rank()), "rank ", comm_->rank(), ": component ", id,
                e.component->resident() ? " is held here but belongs to rank " : " is not held here but belongs to rank ",
                home);
    pool_.at(id).home = home;
  }
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

std::vector<RouteStep> Evolution::route_steps(const ModelRecord& m, bool with_trainable) {
  std::vector<RouteStep> steps;
  for (size_t i = 0; i < m.route.size(); ++i)
    steps.push_back({&pool_.component(m.route[i]), with_trainable && m.route_trainable[i]});
  return steps;
}

void Evolution::train_child(ModelRecord& child, int task, uint64_t data_seed, int worker) {
  const EvolutionConfig& c = st_.config;
  const TaskData& data = tasks_[task];
  const ViTConfig shape = model_shape(c.root, child.hparams, data.num_classes);
  TrainConfig tc = child_training(c, child.hparams, data.train.size);
  tc.seed = data_seed;
  TrainResult r;
  if (worker < 0) {
    Network net(backend_, shape, route_steps(child, true));
    r = train_network(backend_, net, data, tc, host_pool_, nullptr);
  } else {
    DeviceRoute route(*workers_, worker, pool_, child, true);
    Network net(workers_->backend(worker), shape, route.steps());
    r = train_network(workers_->backend(worker), net, data, tc, workers_->host_pool(worker), nullptr);
    route.write_back();
  }
  for (const auto& v : r.validations) child.validation_accuracies.push_back(v.result.accuracy);
  child.quality = r.best_accuracy;
  child.train_seconds = r.seconds;
  child.train_images = r.images;
}

int64_t Evolution::test_correct(const ModelRecord& m, int worker) {
  const ViTConfig shape = model_shape(st_.config.root, m.hparams, tasks_.at(m.task).num_classes);
  const int me = comm_->rank(), ranks = comm_->size();
  if (worker < 0) {
    Network net(backend_, shape, route_steps(m, false));
    return evaluate(backend_, net, tasks_[m.task].test, 0, st_.config.eval_batch_size, host_pool_, me, ranks).correct;
  }
  DeviceRoute route(*workers_, worker, pool_, m, false);
  Network net(workers_->backend(worker), shape, route.steps());
  return evaluate(workers_->backend(worker), net, tasks_[m.task].test, 0, st_.config.eval_batch_size,
                  workers_->host_pool(worker), me, ranks)
      .correct;
}

void Evolution::score_child(ModelRecord& child, int task) {
  const ViTConfig shape = model_shape(st_.config.root, child.hparams, tasks_[task].num_classes);
  child.accounted_params = accounted_params(pool_, child.route, task);
  child.flops = route_flops(pool_, child.route, shape);
  child.score = score(child.quality, child.accounted_params, child.flops, st_.score);
}

std::vector<int> Evolution::assign_children(const std::vector<ModelRecord>& children, int task) const {
  // Longest job first onto the least loaded rank; cost: forward FLOPs per image (training steps
  // and batch are the same for every child). Ties go to the lower slot and the lower rank.
  const int ranks = comm_->size();
  std::vector<int> trainer(children.size(), 0);
  if (ranks == 1) return trainer;
  std::vector<std::pair<double, size_t>> cost;
  for (size_t k = 0; k < children.size(); ++k)
    cost.emplace_back(route_flops(pool_, children[k].route,
                                  model_shape(st_.config.root, children[k].hparams, tasks_[task].num_classes)),
                      k);
  std::sort(cost.begin(), cost.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<double> load(size_t(ranks), 0.0);
  for (const auto& [c, k] : cost) {
    const size_t r = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    trainer[k] = int(r);
    load[r] += c;
  }
  return trainer;
}

void Evolution::fetch(const Needs& needs) {
  // Every rank walks the same list in the same order, so sends and receives pair up.
  std::vector<Transfer> sends, receives;
  const int me = comm_->rank();
  for (const auto& [id, ranks] : needs) {
    PoolComponent& e = pool_.at(id);
    Component& c = *e.component;
    for (const auto& [r, with_momentum] : ranks) {
      if (r == e.home) continue;
      // The home's momentum buffer exists exactly when every rank's shell says it does.
      const bool momentum = with_momentum && c.has_optimizer_state();
      if (r == me) {
        // Every copy that is not home was dropped after the last generation (evict), so the
        // home rank, which cannot see this rank's state, is right to send.
        MUNET_CHECK(!c.resident(), "rank ", me, ": component ", id, " is already held here");
        c.make_resident(momentum);
        receives.push_back({e.home, c.values().data<float>(), c.size()});
        if (momentum) receives.push_back({e.home, c.velocity().data<float>(), c.size()});
      } else if (e.home == me) {
        sends.push_back({r, c.values().data<float>(), c.size()});
        if (momentum) sends.push_back({r, c.velocity().data<float>(), c.size()});
      }
    }
  }
  comm_->exchange(sends, receives);
}

void Evolution::evict() {
  for (const auto& [id, e] : pool_.entries())
    if (e.home != comm_->rank() && e.component->resident()) pool_.component(id).release();
}

std::vector<std::string> Evolution::share(const std::string& mine, int64_t sent_before) {
  std::string message;
  put(message, RankStats{comm_->bytes_sent() - sent_before, pool_.resident_bytes()});
  message += mine;
  std::vector<std::string> all = comm_->allgather(message);
  rank_stats_.clear();
  for (std::string& from : all) {
    size_t at = 0;
    rank_stats_.push_back(take<RankStats>(from, at));
    from.erase(0, at);
  }
  return all;
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
  const int ranks = comm_->size(), me = comm_->rank();
  const int64_t sent_before = comm_->bytes_sent();
  const std::vector<int> trainer = assign_children(children, task);
  Needs needs;  // frozen route components without momentum; clone sources with it
  for (size_t k = 0; k < children.size(); ++k)
    for (ComponentId id : children[k].route) {
      PoolComponent& e = pool_.at(id);
      if (!pool_.pending(id)) {
        needs[id][trainer[k]] |= false;
        continue;
      }
      e.home = trainer[k];
      if (e.recipe.source >= 0) needs[e.recipe.source][trainer[k]] |= e.recipe.kind == Recipe::Clone;
    }
  fetch(needs);
  // 3. Each rank trains its children on the generation's data stream: one after another on the
  // CPU, or several at once on a GPU's workers.
  std::vector<size_t> mine;
  for (size_t k = 0; k < children.size(); ++k) {
    if (trainer[k] != me) continue;
    mine.push_back(k);
    for (ComponentId id : children[k].route)
      if (pool_.pending(id)) pool_.make_new(id);
    if (workers_)  // host momentum buffers to receive the trained momentum (made here, not in the workers)
      for (size_t i = 0; i < children[k].route.size(); ++i)
        if (children[k].route_trainable[i]) pool_.component(children[k].route[i]).velocity();
  }
  if (workers_)
    workers_->run(int(mine.size()), [&](int w, int i) { train_child(children[mine[size_t(i)]], task, data_seed, w); });
  else
    for (size_t k : mine) train_child(children[k], task, data_seed, -1);
  std::string results;
  for (size_t k : mine) {
    const ModelRecord& child = children[k];
    for (size_t i = 0; i < child.route.size(); ++i)
      if (child.route_trainable[i]) pool_.component(child.route[i]).drop_grad();
    append_result(results, child);
  }
  // 4. Every rank learns every result; new components are now held by their home ranks.
  const std::vector<std::string> all = share(results, sent_before);
  std::vector<size_t> at(size_t(ranks), 0);
  for (size_t k = 0; k < children.size(); ++k)
    read_result(all[size_t(trainer[k])], at[size_t(trainer[k])], children[k]);
  for (ModelRecord& child : children) {
    for (size_t i = 0; i < child.route.size(); ++i)
      if (child.route_trainable[i]) {
        pool_.at(child.route[i]).recipe = Recipe{};
        pool_.component(child.route[i]).mark_trained();
      }
    score_child(child, task);
  }
  evict();
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
  if (workers_) workers_->cache().retain([&](ComponentId id) { return pool_.contains(id); });
  if (log_) {
    const ModelId top = best_of(turn_models(), task);
    int64_t done = -children_before_, remaining = 0;
    for (int n : st_.children) done += n;
    remaining = int64_t(tasks_.size()) * c.turn_iterations() * c.turn_children() - children_before_ - done;
    const double elapsed = now_seconds() - started_;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "  %s iteration %d generation %d/%d: children %d/%d (accepted %d), best score %.4f "
                  "(model %lld), pool %.2fM params, ETA %s",
                  data.name.c_str(), iteration + 1, g + 1, generations_per_turn(), made, c.turn_children(),
                  st_.accepted[task], top == kNoModel ? 0.0 : current_score(st_.models.at(top), task),
                  (long long)top, pool_.total_params() / 1e6,
                  done > 0 ? format_duration(elapsed / double(done) * double(remaining)).c_str() : "?");
    *log_ << buf;
    if (comm_->size() > 1) {  // traffic and the pool memory each rank held
      int64_t sent = 0;
      std::string held;
      char mb[32];
      for (const RankStats& r : rank_stats_) {
        sent += r.bytes_sent;
        std::snprintf(mb, sizeof mb, "%s%.2f", held.empty() ? "" : "/", r.resident_bytes / 1e6);
        held += mb;
      }
      std::snprintf(mb, sizeof mb, "%.2f", sent / 1e6);
      *log_ << ", moved " << mb << " MB, held " << held << " MB per rank";
    }
    if (workers_) {  // what the GPU cache of frozen components held and how often it had them
      const DeviceCacheStats d = workers_->cache().stats();
      std::snprintf(buf, sizeof buf, ", device cache %.1f MB (%lld hits, %lld uploads)", d.held_bytes / 1e6,
                    (long long)d.hits, (long long)d.misses);
      *log_ << buf;
    }
    *log_ << std::endl;
  }
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
  if (workers_) workers_->cache().retain([&](ComponentId id) { return pool_.contains(id); });
  // Test accuracy of every task's best model. A best model's components are locked and never
  // change, so one evaluation holds for as long as it stays its task's best.
  // Every rank evaluates its share of the test batches (see evaluate) of every model to test.
  const int ranks = comm_->size(), me = comm_->rank();
  const int64_t sent_before = comm_->bytes_sent();
  std::vector<size_t> pending;
  Needs needs;
  for (size_t t = 0; t < tasks_.size(); ++t) {
    if (st_.best[t] == kNoModel || st_.models.at(st_.best[t]).test_accuracy >= 0) continue;
    pending.push_back(t);
    for (ComponentId id : st_.models.at(st_.best[t]).route)
      for (int r = 0; r < ranks; ++r) needs[id][r] |= false;
  }
  if (!pending.empty()) {
    fetch(needs);
    std::vector<int64_t> correct(pending.size());
    auto test = [&](int worker, int i) { correct[size_t(i)] = test_correct(st_.models.at(st_.best[pending[size_t(i)]]), worker); };
    if (workers_)
      workers_->run(int(pending.size()), test);
    else
      for (size_t i = 0; i < pending.size(); ++i) test(-1, int(i));
    std::string mine;
    for (int64_t n : correct) put(mine, n);
    const std::vector<std::string> all = share(mine, sent_before);
    std::vector<size_t> at(all.size(), 0);
    for (size_t i = 0; i < pending.size(); ++i) {
      int64_t correct = 0;
      for (size_t r = 0; r < all.size(); ++r) correct += take<int64_t>(all[r], at[r]);
      const ImageSet& test = tasks_[pending[i]].test;
      st_.models.at(st_.best[pending[i]]).test_accuracy = test.size > 0 ? double(correct) / double(test.size) : 0.0;
    }
    for (size_t r = 0; r < all.size(); ++r)
      MUNET_CHECK(at[r] == all[r].size(), "rank ", me, ": rank ", r, " sent ", all[r].size(), " bytes of test counts, ",
                  at[r], " expected");
    evict();
  }
  if (log_) print_table(*log_);
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
  const ModelRecord& m = st_.models.at(model);
  const ViTConfig shape = model_shape(st_.config.root, m.hparams, tasks_.at(m.task).num_classes);
  Tensor copy;
  if (!workers_) {
    Network net(backend_, shape, route_steps(m, false));
    const Tensor& out = net.forward(images);
    copy = Tensor::host(out.shape(), out.dtype());
    backend_.copy(out, copy);
    return copy;
  }
  Backend& device = workers_->backend(0);
  DeviceRoute route(*workers_, 0, pool_, m, false);
  Network net(device, shape, route.steps());
  Tensor on_device = device.empty(images.shape(), images.dtype());
  device.copy(images, on_device);
  const Tensor& out = net.forward(on_device);
  copy = Tensor::host(out.shape(), out.dtype());
  device.copy(out, copy);
  return copy;
}

std::vector<TaskSummary> summarize(const EvolutionState& st, const PoolSizes& pool) {
  std::vector<TaskSummary> out;
  int64_t pool_total = 0;
  for (const auto& [id, owner_size] : pool) pool_total += owner_size.second;
  for (size_t t = 0; t < st.tasks.size(); ++t) {
    TaskSummary s;
    s.task = st.tasks[t].name;
    s.best = st.best[t];
    s.children = st.children[t];
    s.accepted = st.accepted[t];
    if (s.best != kNoModel) {
      const ModelRecord& m = st.models.at(s.best);
      s.validation_accuracy = m.quality;
      s.test_accuracy = m.test_accuracy;
      s.score = m.score;
      s.activated_params = m.params;
      for (ComponentId id : m.route) {
        auto it = pool.find(id);
        MUNET_CHECK(it != pool.end(), "the best model of ", s.task, " routes through component ", id,
                    " that the pool does not hold");
        if (it->second.first == int(t)) s.owned_params += it->second.second;
      }
      s.activated_share = double(s.activated_params) / double(pool_total);
    }
    out.push_back(s);
  }
  return out;
}

std::vector<TaskSummary> Evolution::summaries() const {
  PoolSizes sizes;
  for (const auto& [id, e] : pool_.entries()) sizes[id] = {e.owner, e.component->size()};
  return summarize(st_, sizes);
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
