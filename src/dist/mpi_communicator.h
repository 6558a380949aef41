// The MPI communicator (see communicator.h); exposed for the NCCL communicator and the parallel
// HDF5 writer, which need MPI_COMM_WORLD's rank layout.
#pragma once
#include <mpi.h>

#include "dist/communicator.h"

namespace munet {

class MpiCommunicator : public Communicator {
 public:
  // Initialises MPI if the process has not, and then finalises it on destruction.
  MpiCommunicator();
  ~MpiCommunicator() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::vector<std::string> allgather(const std::string& mine) override;
  void broadcast(std::string& data, int root) override;
  bool any(bool flag) override;
  void exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& receives) override;
  [[noreturn]] void abort(int status) override;
  MPI_Comm comm() const { return MPI_COMM_WORLD; }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace munet
