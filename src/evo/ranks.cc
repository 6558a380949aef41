// Rank sharding: placing children, fetching and evicting components, gathering results.
#include "evo/ranks.h"

#include <algorithm>
#include <cstring>

namespace munet {
namespace {

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

void Ranks::keep_home_share(const std::vector<ComponentId>& made) {
  for (ComponentId id : made) {
    pool_.at(id).home = home_rank(id, size());
    if (pool_.at(id).home != rank()) pool_.component(id).release();
  }
}

void Ranks::check_home_share() {
  for (const auto& [id, e] : pool_.entries()) {
    const int home = home_rank(id, size());
    MUNET_CHECK(e.component->resident() == (home == rank()), "rank ", rank(), ": component ", id,
                e.component->resident() ? " is held here but belongs to rank " : " is not held here but belongs to rank ",
                home);
    pool_.at(id).home = home;
  }
}

std::vector<int> Ranks::place_children(const std::vector<ModelRecord>& children,
                                       const std::function<double(const ModelRecord&)>& cost) {
  sent_before_ = comm_.bytes_sent();
  // Longest job first onto the least loaded rank (training steps and batch are the same for
  // every child, so forward FLOPs per image measure the job). Ties go to the lower slot and the
  // lower rank.
  std::vector<int> trainer(children.size(), 0);
  if (size() > 1) {
    std::vector<std::pair<double, size_t>> costs;
    for (size_t k = 0; k < children.size(); ++k) costs.emplace_back(cost(children[k]), k);
    std::sort(costs.begin(), costs.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<double> load(size_t(size()), 0.0);
    for (const auto& [c, k] : costs) {
      const size_t r = size_t(std::min_element(load.begin(), load.end()) - load.begin());
      trainer[k] = int(r);
      load[r] += c;
    }
  }
  // The trainer is the home of a child's new components; it fetches the frozen components
  // (without momentum) and the clone sources (with it) that it lacks.
  Needs needs;
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
  return trainer;
}

void Ranks::fetch_everywhere(const std::vector<const ModelRecord*>& models) {
  sent_before_ = comm_.bytes_sent();
  Needs needs;
  for (const ModelRecord* m : models)
    for (ComponentId id : m->route)
      for (int r = 0; r < size(); ++r) needs[id][r] |= false;
  fetch(needs);
}

void Ranks::fetch(const Needs& needs) {
  // Every rank walks the same list in the same order, so sends and receives pair up.
  std::vector<Transfer> sends, receives;
  const int me = rank();
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
  comm_.exchange(sends, receives);
}

void Ranks::evict() {
  for (const auto& [id, e] : pool_.entries())
    if (e.home != rank() && e.component->resident()) pool_.component(id).release();
}

std::vector<std::string> Ranks::share(const std::string& mine) {
  std::string message;
  put(message, RankStats{comm_.bytes_sent() - sent_before_, pool_.resident_bytes()});
  message += mine;
  std::vector<std::string> all = comm_.allgather(message);
  stats_.clear();
  for (std::string& from : all) {
    size_t at = 0;
    stats_.push_back(take<RankStats>(from, at));
    from.erase(0, at);
  }
  return all;
}

void Ranks::gather_results(std::vector<ModelRecord>& children, const std::vector<int>& trainer) {
  std::string results;
  for (size_t k = 0; k < children.size(); ++k)
    if (trainer[k] == rank()) append_result(results, children[k]);
  const std::vector<std::string> all = share(results);
  std::vector<size_t> at(all.size(), 0);
  for (size_t k = 0; k < children.size(); ++k)
    read_result(all[size_t(trainer[k])], at[size_t(trainer[k])], children[k]);
}

std::vector<int64_t> Ranks::sum_counts(const std::vector<int64_t>& mine) {
  std::string message;
  for (int64_t n : mine) put(message, n);
  const std::vector<std::string> all = share(message);
  std::vector<size_t> at(all.size(), 0);
  std::vector<int64_t> sums(mine.size(), 0);
  for (size_t i = 0; i < mine.size(); ++i)
    for (size_t r = 0; r < all.size(); ++r) sums[i] += take<int64_t>(all[r], at[r]);
  for (size_t r = 0; r < all.size(); ++r)
    MUNET_CHECK(at[r] == all[r].size(), "rank ", rank(), ": rank ", r, " sent ", all[r].size(),
                " bytes of counts, ", at[r], " expected");
  return sums;
}

}  // namespace munet
