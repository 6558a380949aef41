// The NCCL communicator on 2 and 3 ranks: a ring exchange of two device buffers per neighbour,
// checked on the host; host pointers are refused. Skipped (on every rank alike) where a node has
// fewer GPUs than ranks, or where the build has no NCCL.
#include <gtest/gtest.h>
#include <mpi.h>

#include <numeric>

#include "munet/build_config.h"
#if MUNET_NCCL
#include "dist/nccl_communicator.h"
#include "util/error.h"
#endif

namespace munet {
namespace {

#if MUNET_NCCL
// NCCL needs a GPU of its own for each rank of a node.
bool every_rank_has_its_own_gpu() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 1, devices = 0;
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  const int mine = cudaGetDeviceCount(&devices) == cudaSuccess && devices >= local ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

TEST(NcclCommunicator, RingExchangeOfDeviceBuffers) {
  if (!every_rank_has_its_own_gpu()) GTEST_SKIP() << "fewer CUDA devices than ranks on a node";
  NcclCommunicator comm;
  const int me = comm.rank(), n = comm.size();
  const int next = (me + 1) % n, prev = (me + n - 1) % n;
  auto size_of = [](int rank, int k) { return int64_t(1 << 20) + 31 * rank + k; };
  std::vector<float*> out(2), in(2);
  for (int k = 0; k < 2; ++k) {
    std::vector<float> host(size_t(size_of(me, k)));
    std::iota(host.begin(), host.end(), float(me * 10 + k));
    ASSERT_EQ(cudaMalloc(&out[size_t(k)], host.size() * sizeof(float)), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(out[size_t(k)], host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
              cudaSuccess);
    ASSERT_EQ(cudaMalloc(&in[size_t(k)], size_t(size_of(prev, k)) * sizeof(float)), cudaSuccess);
  }
  comm.exchange({{next, out[0], size_of(me, 0)}, {next, out[1], size_of(me, 1)}},
                {{prev, in[0], size_of(prev, 0)}, {prev, in[1], size_of(prev, 1)}});
  for (int k = 0; k < 2; ++k) {
    std::vector<float> got(size_t(size_of(prev, k)));
    ASSERT_EQ(cudaMemcpy(got.data(), in[size_t(k)], got.size() * sizeof(float), cudaMemcpyDeviceToHost),
              cudaSuccess);
    std::vector<float> want(got.size());
    std::iota(want.begin(), want.end(), float(prev * 10 + k));
    EXPECT_EQ(got, want) << "buffer " << k << " from rank " << prev;
  }
  std::vector<float> host(4);
  EXPECT_THROW(comm.exchange({{next, host.data(), 4}}, {}), Error);
  for (float* p : out) cudaFree(p);
  for (float* p : in) cudaFree(p);
}
#else
TEST(NcclCommunicator, RingExchangeOfDeviceBuffers) { GTEST_SKIP() << "built without NCCL"; }
#endif

}  // namespace
}  // namespace munet
