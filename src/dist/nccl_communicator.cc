// The NCCL communicator; see nccl_communicator.h.
#include "dist/nccl_communicator.h"

#include <cstring>

#include "util/error.h"

namespace munet {
namespace {

void check_cuda(cudaError_t e, int rank, const char* what) {
  if (e != cudaSuccess) fail("rank ", rank, ": ", what, ": ", cudaGetErrorString(e));
}

void check_nccl(ncclResult_t r, int rank, const char* what) {
  if (r != ncclSuccess) fail("rank ", rank, ": ", what, ": ", ncclGetErrorString(r));
}

}  // namespace

NcclCommunicator::NcclCommunicator() {
  int devices = 0;
  check_cuda(cudaGetDeviceCount(&devices), rank(), "no usable CUDA device for NCCL");
  MUNET_CHECK(devices > 0, "rank ", rank(), ": no CUDA device for NCCL");
  device_ = local_rank() % devices;
  check_cuda(cudaSetDevice(device_), rank(), "cudaSetDevice");
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), rank(), "cudaStreamCreate");
  ncclUniqueId id;
  if (rank() == 0) check_nccl(ncclGetUniqueId(&id), rank(), "ncclGetUniqueId");
  std::string bytes(reinterpret_cast<const char*>(&id), sizeof id);
  broadcast(bytes, 0);
  MUNET_CHECK(bytes.size() == sizeof id, "rank ", rank(), ": NCCL id of ", bytes.size(), " bytes");
  std::memcpy(&id, bytes.data(), sizeof id);
  check_nccl(ncclCommInitRank(&nccl_, size(), id, rank()), rank(), "ncclCommInitRank");
}

NcclCommunicator::~NcclCommunicator() {
  if (nccl_) ncclCommDestroy(nccl_);
  if (stream_) cudaStreamDestroy(stream_);
}

void NcclCommunicator::exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& receives) {
  auto on_device = [&](const Transfer& t) {
    MUNET_CHECK(t.peer >= 0 && t.peer < size() && t.peer != rank(), "rank ", rank(), ": transfer with rank ", t.peer);
    if (t.count == 0) return;
    cudaPointerAttributes a{};
    const bool device = cudaPointerGetAttributes(&a, t.data) == cudaSuccess && a.type == cudaMemoryTypeDevice;
    cudaGetLastError();  // a host pointer leaves an error that later checks must not see
    MUNET_CHECK(device, "rank ", rank(), ": NCCL moves GPU memory, but a transfer with rank ", t.peer,
                " is in host memory");
  };
  for (const Transfer& t : sends) on_device(t);
  for (const Transfer& t : receives) on_device(t);
  // The buffers may have been written by kernels on other streams: let those finish first.
  check_cuda(cudaDeviceSynchronize(), rank(), "waiting for the device before NCCL transfers");
  // One group: NCCL pairs the i-th send to a peer with the peer's i-th receive from this rank.
  check_nccl(ncclGroupStart(), rank(), "ncclGroupStart");
  for (const Transfer& t : receives)
    check_nccl(ncclRecv(t.data, size_t(t.count), ncclFloat, t.peer, nccl_, stream_), rank(), "ncclRecv");
  for (const Transfer& t : sends) {
    check_nccl(ncclSend(t.data, size_t(t.count), ncclFloat, t.peer, nccl_, stream_), rank(), "ncclSend");
    bytes_sent_ += t.count * int64_t(sizeof(float));
  }
  check_nccl(ncclGroupEnd(), rank(), "ncclGroupEnd");
  check_cuda(cudaStreamSynchronize(stream_), rank(), "waiting for NCCL transfers");
}

void NcclCommunicator::abort(int status) {
  if (nccl_) ncclCommAbort(nccl_);
  nccl_ = nullptr;
  MpiCommunicator::abort(status);
}

}  // namespace munet
