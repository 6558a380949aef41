// Task summaries, the per-task table, the progress line.
#include "evo/report.h"

#include <cstdio>
#include <ostream>

#include "evo/evolution.h"
#include "train/progress.h"

namespace munet {

PoolSizes pool_sizes(const LayerPool& pool) {
  PoolSizes sizes;
  for (const auto& [id, e] : pool.entries()) sizes[id] = {e.owner, e.component->size()};
  return sizes;
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

void print_task_table(std::ostream& out, const std::vector<TaskSummary>& rows, const LayerPool& pool) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-22s %9s %9s %12s %12s %10s %9s", "task", "val acc", "test acc",
                "activated", "new (owned)", "pool share", "accepted");
  out << buf << "\n";
  for (const TaskSummary& s : rows) {
    if (s.best == kNoModel) continue;
    std::snprintf(buf, sizeof buf, "%-22s %8.2f%% %8.2f%% %12lld %12lld %9.1f%% %5d/%-3d", s.task.c_str(),
                  100 * s.validation_accuracy, 100 * s.test_accuracy, (long long)s.activated_params,
                  (long long)s.owned_params, 100 * s.activated_share, s.accepted, s.children);
    out << buf << "\n";
  }
  std::snprintf(buf, sizeof buf, "pool: %zu components, %lld parameters in total", pool.size(),
                (long long)pool.total_params());
  out << buf << std::endl;
}

std::string progress_line(const GenerationProgress& p) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "  %s iteration %d generation %d/%d: children %d/%d (accepted %d), best score %.4f "
                "(model %lld), pool %.2fM params, ETA %s",
                p.task.c_str(), p.iteration, p.generation, p.generations, p.made, p.children, p.accepted,
                p.best_score, (long long)p.best, p.pool_params / 1e6,
                p.eta_seconds >= 0 ? format_duration(p.eta_seconds).c_str() : "?");
  std::string line = buf;
  if (p.ranks.size() > 1) {  // traffic and the pool memory each rank held
    int64_t sent = 0;
    std::string held;
    char mb[32];
    for (const RankStats& r : p.ranks) {
      sent += r.bytes_sent;
      std::snprintf(mb, sizeof mb, "%s%.2f", held.empty() ? "" : "/", r.resident_bytes / 1e6);
      held += mb;
    }
    std::snprintf(mb, sizeof mb, "%.2f", sent / 1e6);
    line += cat(", moved ", mb, " MB, held ", held, " MB per rank");
  }
  return line + p.workers_note;
}

}  // namespace munet
