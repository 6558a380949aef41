// The GPU training path of the evolution (device workers, the shared cache of frozen components,
// routes copied to a device and trained values written back), run here with CPU backends in the
// workers' place: the path must give results bit-identical to training on the pool's backend,
// for any number of concurrent workers and any cache budget (evictions included).
#include <gtest/gtest.h>

#include <cstring>

#include "evo/device_workers.h"
#include "kernels/cpu/cpu_backend.h"
#include "support/data_root.h"
#include "support/evolution_fingerprint.h"

namespace munet {
namespace {

std::unique_ptr<Component> filled(CpuBackend& be, const std::string& name, int64_t n, float v) {
  auto c = std::make_unique<Component>(name, ComponentKind::ClassToken,
                                       std::vector<ParamSpec>{{"cls", {n}, 0}}, be, DType::F32);
  for (int64_t i = 0; i < n; ++i) c->values().data<float>()[i] = v + float(i);
  return c;
}

TEST(DeviceCache, UploadsOnceSharesTheCopyAndCountsHits) {
  CpuBackend host(1), device(1);
  auto a = filled(host, "a", 10, 1.f);
  DeviceCache cache(1 << 20);
  const Component& first = cache.pin(7, *a, device);
  const Component& second = cache.pin(7, *a, device);
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(0, std::memcmp(first.values().raw(), a->values().raw(), a->values().bytes()));
  const DeviceCacheStats s = cache.stats();
  EXPECT_EQ(1, s.misses);
  EXPECT_EQ(1, s.hits);
  EXPECT_EQ(40, s.uploaded_bytes);
  EXPECT_EQ(40, s.held_bytes);
  cache.unpin(7);
  cache.unpin(7);
  EXPECT_THROW(cache.unpin(7), Error);
}

TEST(DeviceCache, EvictsLeastRecentlyUsedUnpinnedCopiesOnly) {
  CpuBackend host(1), device(1);
  auto a = filled(host, "a", 10, 1.f), b = filled(host, "b", 10, 2.f), c = filled(host, "c", 10, 3.f);
  DeviceCache cache(80);  // room for two copies
  cache.pin(1, *a, device);
  cache.pin(2, *b, device);  // recency is by pin: 2 is now the most recently used
  cache.unpin(2);
  cache.unpin(1);
  cache.pin(3, *c, device);  // no room: 1, the least recently used, goes
  EXPECT_EQ(1, cache.stats().evictions);
  cache.pin(2, *b, device);  // still held: a hit
  EXPECT_EQ(1, cache.stats().hits);
  cache.pin(1, *a, device);  // gone: uploaded again (and 2 and 3 are pinned, so nothing else goes)
  EXPECT_EQ(4, cache.stats().misses);
  EXPECT_EQ(1, cache.stats().evictions);
  // Everything pinned: the budget gives way rather than dropping a copy in use.
  EXPECT_EQ(120, cache.stats().held_bytes);
  EXPECT_EQ(120, cache.stats().peak_bytes);
}

TEST(DeviceCache, AdoptsTrainedCopiesAndForgetsPrunedOnes) {
  CpuBackend host(1), device(1);
  auto a = filled(host, "a", 4, 1.f);
  DeviceCache cache(1 << 20);
  auto trained = filled(device, "a", 4, 1.f);
  trained->grad();
  trained->velocity();
  cache.adopt(5, std::move(trained));
  const Component& copy = cache.pin(5, *a, device);
  EXPECT_EQ(0, cache.stats().misses);
  EXPECT_FALSE(copy.has_optimizer_state());  // momentum and gradient freed
  cache.unpin(5);
  cache.retain([](ComponentId id) { return id != 5; });
  EXPECT_EQ(0, cache.stats().held_bytes);
  // A component that is neither held nor resident on the host is a clear error.
  auto shell = Component::shell("s", ComponentKind::ClassToken, {{"cls", {4}, 0}}, host, DType::F32, false);
  EXPECT_THROW(cache.pin(9, *shell, device), Error);
}

TEST(DeviceWorkers, RunsEveryItemOnceAndRethrowsTheFirstError) {
  std::vector<std::unique_ptr<Backend>> bes;
  for (int i = 0; i < 3; ++i) bes.push_back(make_cpu_backend(1));
  DeviceWorkers w(std::move(bes), 1, 0);
  std::vector<int> seen(20, 0);
  w.run(20, [&](int worker, int item) {
    EXPECT_GE(worker, 0);
    EXPECT_LT(worker, 3);
    ++seen[size_t(item)];
  });
  for (int n : seen) EXPECT_EQ(1, n);
  EXPECT_THROW(w.run(5, [](int, int item) { MUNET_CHECK(item != 2, "item 2 failed"); }), Error);
}

// workers = 0: the plain path (children trained on the pool's backend).
std::string evolve_with(int workers, int64_t cache_bytes, const std::string& root) {
  CpuBackend be(2);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  std::unique_ptr<DeviceWorkers> dw;
  if (workers > 0) {
    std::vector<std::unique_ptr<Backend>> bes;
    for (int i = 0; i < workers; ++i) bes.push_back(make_cpu_backend(1));
    dw = std::make_unique<DeviceWorkers>(std::move(bes), 1, cache_bytes);
    evo.use_workers(dw.get());
  }
  evo.run();
  if (dw) {
    const DeviceCacheStats s = dw->cache().stats();
    EXPECT_GT(s.misses, 0);
    if (cache_bytes == 0) {
      EXPECT_GT(s.evictions, 0);
    }
  }
  return test::fingerprint(evo);
}

TEST(DeviceWorkers, EvolutionIsBitIdenticalToThePlainPathForAnyWorkersAndCache) {
  MUNET_REQUIRE_DATA_ROOT(root);
  const std::string plain = evolve_with(0, 0, root);
  EXPECT_TRUE(plain == evolve_with(1, int64_t(1) << 30, root)) << "one worker, everything cached";
  EXPECT_TRUE(plain == evolve_with(3, 0, root)) << "three concurrent workers, no cache budget (evictions)";
}

}  // namespace
}  // namespace munet
