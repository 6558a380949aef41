// The NCCL communicator: parameters move GPU to GPU with ncclSend/ncclRecv (NVLink inside a
// node, InfiniBand or sockets between nodes); collectives on small host data stay on MPI, which
// also carries the NCCL unique id from rank 0 to every rank. Each rank drives one device: its
// local rank mod the devices it can see. Exchanges take device pointers only.
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include "dist/mpi_communicator.h"

namespace munet {

class NcclCommunicator final : public MpiCommunicator {
 public:
  // Picks the device, shares the NCCL id over MPI and joins the NCCL communicator; throws naming
  // the rank when there is no device or NCCL fails.
  NcclCommunicator();
  ~NcclCommunicator() override;
  std::string name() const override { return "nccl"; }
  int device() const { return device_; }
  void exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& receives) override;
  [[noreturn]] void abort(int status) override;

 private:
  int device_ = 0;
  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace munet
