// What an evolution reports to people: the per-task summaries and the table munet prints of them
// (after every turn and at the end of `munet evolve`; `munet inspect` shows the same summaries of
// a checkpoint), and a generation's progress line.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "evo/model.h"
#include "evo/ranks.h"

namespace munet {

struct EvolutionState;

struct TaskSummary {
  std::string task;
  ModelId best = kNoModel;
  double validation_accuracy = 0, test_accuracy = -1, score = 0;
  int64_t activated_params = 0;  // on the best model's route
  int64_t owned_params = 0;      // of which created by this task
  double activated_share = 0;    // activated / pool total
  int children = 0, accepted = 0;
};

// Owner and size of each pool component, by id: what a task summary needs of the pool.
using PoolSizes = std::map<ComponentId, std::pair<int, int64_t>>;
PoolSizes pool_sizes(const LayerPool& pool);

// The per-task summaries of a state (for a live run, or a checkpoint read without its values).
std::vector<TaskSummary> summarize(const EvolutionState& st, const PoolSizes& pool);

// The table: validation and test accuracy of each task's best model (tasks without one yet are
// left out), the parameters its route activates, those the task created itself (new), the
// activated share of the pool, and accepted / sampled children; then the pool's total.
void print_task_table(std::ostream& out, const std::vector<TaskSummary>& rows, const LayerPool& pool);

// A generation's progress, as rank 0 logs it.
struct GenerationProgress {
  std::string task;
  int iteration = 0, generation = 0, generations = 0;  // from 1
  int made = 0, children = 0, accepted = 0;             // the turn's children so far, of, accepted
  ModelId best = kNoModel;
  double best_score = 0;
  int64_t pool_params = 0;
  double eta_seconds = -1;        // < 0: not known yet
  std::vector<RankStats> ranks;   // with several ranks: the generation's traffic and memory
  std::string workers_note;       // what the workers add (Workers::note)
};
std::string progress_line(const GenerationProgress& p);

}  // namespace munet
