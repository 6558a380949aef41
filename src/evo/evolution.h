// The µ2Net outer loop (MU2NET.md "Evolution"): task_iterations rounds over the task list; a
// task's turn runs ceil(children / parallel_slots) generations. A generation first samples one
// child per slot from the population as it stands (parent sampling, mutations; dataset
// hyperparameters from the turn's current best), then trains every child on the same data
// stream, then prunes children of same-task parents that do not reach their parent's score and
// adds the rest to the population. Scores are compared as they stand under the current locks
// (fractional sharing changes when other tasks start or stop using a component). At the end it
// keeps only the task's best model, locks its components for the other tasks, and evaluates
// every task's best model on its test split. Every sampled model is recorded (the genealogy).
// Random streams depend on (seed, task, iteration, generation, slot) only, so the state between
// two generations (EvolutionState plus the layer pool) is all a checkpoint needs to continue
// bit-identically.
//
// Stages: tasks join in stages (the first is the run's task list; add_stage appends the next).
// A stage runs task_iterations rounds over its own tasks, then the next stage starts; earlier
// tasks get no more turns, and their best models, components, locks and test accuracies never
// change again. A later task's seeds are every best model so far and the root, as always. A
// task's random streams are keyed by its index in the whole list, so a stage added after a run
// finished gives the same system as the same stage recorded earlier (joining changes nothing
// before the stage starts); and with task_iterations = 1, the same as one run over all tasks.
//
// Ranks: every rank samples every child alike (so ids and routes agree); each child is trained
// by one rank (children balanced by training cost), which first fetches the frozen components
// and clone sources it lacks from their home ranks; results are gathered so every rank prunes
// and scores alike. New components stay on the rank that trained them (their home); fetched ones
// are dropped after the generation. Test accuracy is computed by all ranks together. Nothing
// depends on the number of ranks but where parameters are held and who computes what.
#pragma once
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "dist/communicator.h"
#include "evo/child.h"
#include "evo/config.h"
#include "evo/device_workers.h"
#include "evo/scoring.h"
#include "nn/network.h"
#include "train/trainer.h"
#include "util/thread_pool.h"

namespace munet {

// What a checkpoint records of each task, to check that a resumed run sees the same data.
// Also where the task came from, for readers: its source, content hash and task file (empty for
// a built-in recipe, whose name loads it again). Checkpoints older than task files have no hash.
// Its stage (evo/evolution.h, "Stages"), the generations done when it joined, and its copy in the
// run folder (a task file's; relative to the run folder; empty for a built-in or a run without
// --output) that a resume loads instead of `file`.
struct TaskSignature {
  std::string name;
  int num_classes = 0;
  int64_t train = 0, validation = 0, test = 0;  // examples per split
  std::string source, content_hash, file;
  int stage = 0;
  int64_t joined_at = 0;
  std::string copy;
  // Same name, classes and split sizes, and the same content hash where both have one.
  bool operator==(const TaskSignature& o) const {
    return name == o.name && num_classes == o.num_classes && train == o.train && validation == o.validation &&
           test == o.test && (content_hash.empty() || o.content_hash.empty() || content_hash == o.content_hash);
  }
};

// The next generation to run. generation == 0: no turn is in progress.
struct Progress {
  int iteration = 0, task = 0, generation = 0;
};

// A task's turn in progress, between two of its generations.
struct TurnState {
  std::vector<std::pair<ModelId, double>> own;  // the turn's population with the scores the
                                                // parent sampler ranks them by, in joining order
  std::vector<ModelId> seeds;                   // other tasks' best models and the root, shuffled
  size_t seed_start = 0;                        // where the sampler's next seed walk starts
};

// Everything an evolution holds between two generations except the layer pool's components and
// the tasks' data: with those, what a checkpoint stores.
struct EvolutionState {
  EvolutionConfig config;
  std::vector<TaskSignature> tasks;
  std::map<ModelId, ModelRecord> models;  // every model ever sampled
  ModelId next_model = 0, root = kNoModel;
  std::vector<ModelId> best;              // per task
  std::vector<int> children, accepted;    // per task
  std::vector<std::map<ModelId, int>> offspring;  // per task: children each model produced for it
  ScoreConfig score;
  Progress progress;
  TurnState turn;
};

TaskSignature signature_of(const TaskData& task);

// How a child with hyperparameters `hp` trains on a task with this many training examples: the
// turn plan's validations, each after the steps the one-epoch cap allows, the schedule over all
// of them (the data seed is the generation's, set by the caller).
TrainConfig child_training(const EvolutionConfig& c, const Hparams& hp, int64_t train_examples);

struct TaskSummary {
  std::string task;
  ModelId best = kNoModel;
  double validation_accuracy = 0, test_accuracy = -1, score = 0;
  int64_t activated_params = 0;  // on the best model's route
  int64_t owned_params = 0;      // of which created by this task
  double activated_share = 0;    // activated / pool total
  int children = 0, accepted = 0;
};

// One rank's traffic and memory in the last generation (or turn end).
struct RankStats {
  int64_t bytes_sent = 0;      // parameters sent to other ranks
  int64_t resident_bytes = 0;  // pool parameters and momentum held, at the peak (after fetching)
};

// Owner and size of each pool component, by id: what a task summary needs of the pool.
using PoolSizes = std::map<ComponentId, std::pair<int, int64_t>>;

// The per-task summaries of a state (for a live run, or a checkpoint read without its values).
std::vector<TaskSummary> summarize(const EvolutionState& st, const PoolSizes& pool);

class Evolution {
 public:
  // `pretrained`: the root's components (a model file's route; a head is dropped; cfg.root must
  // have their shape), and optionally the file's original-grid position embedding (any other
  // posembed; else a copy of the route's), kept in the pool off the route as the source of every
  // resize; empty: a fresh random root (resizes start from the parent's embedding). `comm`: the job's ranks (null: this process alone).
  Evolution(Backend& backend, ThreadPool& host_pool, EvolutionConfig cfg, std::vector<TaskData> tasks,
            std::ostream* log, std::vector<std::unique_ptr<Component>> pretrained = {},
            Communicator* comm = nullptr);
  // Continues a checkpointed evolution; `tasks` must match the state's task signatures. `pool`
  // holds resident exactly the components whose home (id mod ranks) is this rank.
  Evolution(Backend& backend, ThreadPool& host_pool, EvolutionState state, LayerPool pool,
            std::vector<TaskData> tasks, std::ostream* log, Communicator* comm = nullptr);

  // Trains and evaluates children on a GPU's workers from now on (null: on the backend given at
  // construction, which keeps the pool either way). Results do not depend on the worker count.
  void use_device(DeviceWorkers* workers) { workers_ = workers; }

  // Runs every remaining generation, calling after_generation after each.
  void run(const std::function<void()>& after_generation = {});
  // Runs the next generation, beginning or ending a task's turn as needed.
  void step();
  // One whole task's turn from its start (tests drive turns directly).
  void turn(int task, int iteration);
  bool done() const { return st_.progress.iteration >= st_.config.turn_iterations(); }
  // Appends a stage of new tasks (their names must be new): it runs after the stages before it;
  // a finished evolution continues with it. `copies`: each task's copy in the run folder (or
  // empty). Every rank adds the same stage at the same point.
  void add_stage(std::vector<TaskData> tasks, const std::vector<std::string>& copies);
  // Records the run-folder copy of a task of the first stage.
  void set_task_copy(int task, const std::string& copy) { st_.tasks.at(size_t(task)).copy = copy; }
  int stages() const { return st_.tasks.back().stage + 1; }
  int generations_per_turn() const;
  int64_t total_generations() const;
  int64_t generations_done() const;

  const EvolutionState& state() const { return st_; }
  Backend& backend() const { return backend_; }
  Communicator& comm() const { return *comm_; }
  // Per rank, in rank order: the last generation's traffic and memory.
  const std::vector<RankStats>& rank_stats() const { return rank_stats_; }
  const EvolutionConfig& config() const { return st_.config; }
  const LayerPool& pool() const { return pool_; }
  const std::map<ModelId, ModelRecord>& models() const { return st_.models; }
  ModelId best(int task) const { return st_.best.at(task); }
  ModelId root() const { return st_.root; }
  const std::vector<TaskData>& tasks() const { return tasks_; }
  const HpSpace& space() const { return space_; }
  std::vector<TaskSummary> summaries() const;
  // Logits of a model on host images [B, S, S, 3] (its image size); nothing is trained.
  Tensor logits(ModelId model, const Tensor& images);
  // The per-task table: validation and test accuracy of the best model, the parameters its route
  // activates, those the task created itself (new), the activated share of the pool, and
  // accepted / sampled children; then the pool's total.
  void print_table(std::ostream& out) const;

 private:
  Hparams generation_hparams(ModelId best, int task, int iteration, int generation) const;
  // A model's score for `task` under the pool's current locks.
  double current_score(const ModelRecord& m, int task) const;
  ModelId best_of(const std::vector<ModelId>& ids, int task) const;
  // The ids of the turn's population.
  std::vector<ModelId> turn_models() const;
  // On `worker` of the device workers, or on the pool's backend when worker < 0.
  void train_child(ModelRecord& child, int task, uint64_t data_seed, int worker);
  // Correct test predictions of `model` on this rank's share of its task's test batches.
  int64_t test_correct(const ModelRecord& model, int worker);
  void score_child(ModelRecord& child, int task);
  // The rank that trains each child of a generation (the same on every rank).
  std::vector<int> assign_children(const std::vector<ModelRecord>& children, int task) const;
  // Per component, the ranks that need it and whether with its momentum (clone sources).
  using Needs = std::map<ComponentId, std::map<int, bool>>;
  // Makes each (component, rank) pair resident on that rank, sent from the component's home.
  void fetch(const Needs& needs);
  // Drops the parameters of components this rank holds but is not home to.
  void evict();
  // Gathers every rank's `mine`, and the traffic and memory figures since `sent_before`.
  std::vector<std::string> share(const std::string& mine, int64_t sent_before);
  // The tasks of stage s: [stage_begin(s), stage_end(s)).
  int stage_begin(int s) const;
  int stage_end(int s) const;
  void begin_turn(int task, int iteration);
  void run_generation(int task, int iteration, int generation);
  void finish_turn(int task);
  std::vector<RouteStep> route_steps(const ModelRecord& m, bool with_trainable);

  Backend& backend_;
  ThreadPool& host_pool_;
  DeviceWorkers* workers_ = nullptr;
  std::unique_ptr<Communicator> own_comm_;  // when none was given
  Communicator* comm_;
  std::vector<RankStats> rank_stats_;
  EvolutionState st_;
  std::vector<TaskData> tasks_;
  std::ostream* log_;
  HpSpace space_;
  ChildRules rules_;  // from the config: what mutates, adapters, the baseline
  LayerPool pool_;
  double started_ = 0;          // for the ETA: this process's start and
  int64_t children_before_ = 0;  // children done before it (when resumed)
};

}  // namespace munet
