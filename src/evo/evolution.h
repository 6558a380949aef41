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
// by one rank, and results are gathered so every rank prunes and scores alike; test accuracy is
// computed by all ranks together (evo/ranks.h). Nothing depends on the number of ranks but where
// parameters are held and who computes what. Where a rank trains and evaluates, on the host or a
// GPU, is its Workers' business (evo/workers.h), with the same results either way.
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
#include "evo/host_workers.h"
#include "evo/ranks.h"
#include "evo/report.h"
#include "evo/scoring.h"
#include "evo/workers.h"
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

class Evolution {
 public:
  // The pool lives on `backend`; children train there with `host_pool` for their data until
  // use_workers says otherwise. `pretrained`: the root's components (evo/root_model.h); empty: a
  // fresh random root (resizes start from the parent's embedding). `comm`: the job's ranks (null:
  // this process alone).
  Evolution(Backend& backend, ThreadPool& host_pool, EvolutionConfig cfg, std::vector<TaskData> tasks,
            std::ostream* log, std::vector<std::unique_ptr<Component>> pretrained = {},
            Communicator* comm = nullptr);
  // Continues a checkpointed evolution; `tasks` must match the state's task signatures. `pool`
  // holds resident exactly the components whose home (home_rank) is this rank.
  Evolution(Backend& backend, ThreadPool& host_pool, EvolutionState state, LayerPool pool,
            std::vector<TaskData> tasks, std::ostream* log, Communicator* comm = nullptr);

  // Trains and evaluates children on these workers from now on (e.g. a GPU's DeviceWorkers;
  // null: on the backend given at construction, which keeps the pool either way). Results do not
  // depend on the workers.
  void use_workers(Workers* workers) { workers_ = workers ? workers : &host_; }

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

 private:
  Hparams generation_hparams(ModelId best, int task, int iteration, int generation) const;
  // A model's score for `task` under the pool's current locks.
  double current_score(const ModelRecord& m, int task) const;
  ModelId best_of(const std::vector<ModelId>& ids, int task) const;
  // The ids of the turn's population.
  std::vector<ModelId> turn_models() const;
  // A model's route on its task, for the workers; `data_seed`: its training data's stream.
  RouteJob job(const ModelRecord& m, uint64_t data_seed = 0) const;
  void score_child(ModelRecord& child, int task);
  // The tasks of stage s: [stage_begin(s), stage_end(s)).
  int stage_begin(int s) const;
  int stage_end(int s) const;
  void begin_turn(int task, int iteration);
  void run_generation(int task, int iteration, int generation);
  void finish_turn(int task);
  // The generation's progress line (rank 0's log).
  void log_generation(int task, int iteration, int generation, int made);

  Backend& backend_;
  HostWorkers host_;   // the pool's backend and thread pool
  Workers* workers_;   // &host_ or the workers use_workers gave
  std::unique_ptr<Communicator> own_comm_;  // when none was given
  Communicator* comm_;
  EvolutionState st_;
  std::vector<TaskData> tasks_;
  std::ostream* log_;
  HpSpace space_;
  ChildRules rules_;  // from the config: what mutates, adapters, the baseline
  LayerPool pool_;
  Ranks ranks_;  // over comm_ and pool_
  double started_ = 0;          // for the ETA: this process's start and
  int64_t children_before_ = 0;  // children done before it (when resumed)
};

}  // namespace munet
