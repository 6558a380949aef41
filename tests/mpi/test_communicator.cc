// The MPI communicator on 2 and 3 ranks: allgather of different lengths, broadcast from the last
// rank, any(), and a ring exchange of two buffers per neighbour (order kept, counts right).
#include <gtest/gtest.h>

#include <numeric>

#include "dist/mpi_communicator.h"
#include "util/error.h"

namespace munet {
namespace {

TEST(MpiCommunicator, Collectives) {
  MpiCommunicator comm;
  const int me = comm.rank(), n = comm.size();
  ASSERT_GE(n, 2) << "run under mpiexec with at least 2 ranks";
  EXPECT_EQ(comm.name(), "mpi");
  EXPECT_GE(comm.local_size(), 1);
  EXPECT_LT(comm.local_rank(), comm.local_size());
  const std::vector<std::string> all = comm.allgather(std::string(size_t(me + 1), char('a' + me)));
  ASSERT_EQ(int(all.size()), n);
  for (int r = 0; r < n; ++r) EXPECT_EQ(all[size_t(r)], std::string(size_t(r + 1), char('a' + r)));
  std::string data = me == n - 1 ? "from the last rank" : "";
  comm.broadcast(data, n - 1);
  EXPECT_EQ(data, "from the last rank");
  EXPECT_TRUE(comm.any(me == 1));
  EXPECT_FALSE(comm.any(false));
}

TEST(MpiCommunicator, RingExchangeKeepsOrder) {
  MpiCommunicator comm;
  const int me = comm.rank(), n = comm.size();
  const int next = (me + 1) % n, prev = (me + n - 1) % n;
  // Two buffers to the next rank, of sizes that differ by rank; received in the order listed.
  auto size_of = [](int rank, int k) { return int64_t(100000 + 17 * rank + k); };
  std::vector<std::vector<float>> out(2), in(2);
  for (int k = 0; k < 2; ++k) {
    out[size_t(k)].resize(size_t(size_of(me, k)));
    std::iota(out[size_t(k)].begin(), out[size_t(k)].end(), float(me * 10 + k));
    in[size_t(k)].assign(size_t(size_of(prev, k)), -1.f);
  }
  const int64_t before = comm.bytes_sent();
  comm.exchange({{next, out[0].data(), size_of(me, 0)}, {next, out[1].data(), size_of(me, 1)}},
                {{prev, in[0].data(), size_of(prev, 0)}, {prev, in[1].data(), size_of(prev, 1)}});
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(in[size_t(k)].front(), float(prev * 10 + k));
    EXPECT_EQ(in[size_t(k)].back(), float(prev * 10 + k) + float(size_of(prev, k) - 1));
  }
  EXPECT_EQ(comm.bytes_sent() - before, (size_of(me, 0) + size_of(me, 1)) * int64_t(sizeof(float)));
  EXPECT_THROW(comm.exchange({{me, out[0].data(), 1}}, {}), Error);  // no transfer to oneself
}

}  // namespace
}  // namespace munet
