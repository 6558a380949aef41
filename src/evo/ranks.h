// Rank sharding of an evolution (MU2NET.md is silent; munet's own rule): which rank trains which
// child, moving component parameters to the ranks that need them and dropping them after,
// gathering results, and the home rule. A component's parameters live on its home rank
// (home_rank: id mod ranks for the root and a checkpoint's pool; a new component's home is the
// rank that trained it); the other ranks hold a shell. Every rank calls every method alike, in
// the same order, with the same arguments (they are collective), so sends and receives pair up
// and every rank ends a generation knowing every result. Results as one rank sends them are
// bit-exact, so nothing depends on the number of ranks but where parameters are held.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "evo/model.h"
#include "pool/layer_pool.h"

namespace munet {

// The home rule: the rank that holds component `id` of the root or of a checkpoint's pool.
inline int home_rank(ComponentId id, int ranks) { return int(id % ranks); }

// One rank's traffic and memory in the last generation (or turn end).
struct RankStats {
  int64_t bytes_sent = 0;      // parameters sent to other ranks
  int64_t resident_bytes = 0;  // pool parameters and momentum held, at the peak (after fetching)
};

class Ranks {
 public:
  Ranks(Communicator& comm, LayerPool& pool) : comm_(comm), pool_(pool) {}

  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }

  // The root's components, made alike on every rank: each keeps its share (home_rank).
  void keep_home_share(const std::vector<ComponentId>& made);
  // A checkpoint's pool: checks that this rank holds exactly its share, and records the homes.
  void check_home_share();

  // The rank that trains each child (the same on every rank), the home of the child's new
  // components; each rank then holds the frozen components and clone or resize sources its
  // children need. Children are balanced by `cost` (forward FLOPs per image). Starts counting
  // the traffic that the next gather reports (as fetch_everywhere does).
  std::vector<int> place_children(const std::vector<ModelRecord>& children,
                                  const std::function<double(const ModelRecord&)>& cost);
  // Makes every component of these routes resident on every rank (without momentum).
  void fetch_everywhere(const std::vector<const ModelRecord*>& models);
  // Drops the parameters of components this rank holds but is not home to.
  void evict();

  // Every rank's results of the children it trained (trainer[k] == its rank) reach every rank:
  // validation accuracies, quality, training time and images.
  void gather_results(std::vector<ModelRecord>& children, const std::vector<int>& trainer);
  // The sums over ranks of each rank's counts (as many on every rank).
  std::vector<int64_t> sum_counts(const std::vector<int64_t>& mine);
  // Per rank, in rank order: the traffic and memory of the last gather_results or sum_counts.
  const std::vector<RankStats>& stats() const { return stats_; }

 private:
  // Per component, the ranks that need it and whether with its momentum (clone sources).
  using Needs = std::map<ComponentId, std::map<int, bool>>;
  // Makes each (component, rank) pair resident on that rank, sent from the component's home.
  void fetch(const Needs& needs);
  // Gathers every rank's `mine`, and the traffic and memory figures since the last fetch.
  std::vector<std::string> share(const std::string& mine);

  Communicator& comm_;
  LayerPool& pool_;
  int64_t sent_before_ = 0;
  std::vector<RankStats> stats_;
};

}  // namespace munet
