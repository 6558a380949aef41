// How the ranks of a munet job talk: the one small interface the evolution uses to split a
// generation's children across ranks, move component parameters between them, and agree on
// results. Backends, chosen at build time (what the build has) and at run time (`--comm`):
// single-process (one rank), MPI (CPU memory), NCCL (GPU memory, with MPI for control).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace munet {

// One buffer of floats sent to or received from a peer within an exchange.
struct Transfer {
  int peer = 0;
  float* data = nullptr;  // read for sends, written for receives
  int64_t count = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;
  // This rank among the ranks on its node, and how many there are (threads and GPUs are shared
  // among them: device = local rank mod visible devices).
  virtual int local_rank() const { return 0; }
  virtual int local_size() const { return 1; }

  // Every rank's bytes, in rank order (collective).
  virtual std::vector<std::string> allgather(const std::string& mine) = 0;
  // `data` from rank `root` on every rank (collective).
  virtual void broadcast(std::string& data, int root) = 0;
  // True on every rank when `flag` is true on any rank (collective).
  virtual bool any(bool flag) = 0;
  // Point-to-point: posts every send and receive, then waits for all. Between two ranks,
  // transfers match in the order they are listed on each side.
  virtual void exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& receives) = 0;
  // Ends the whole job at once (another rank failed here): never returns.
  [[noreturn]] virtual void abort(int status) = 0;

  // Parameter bytes this rank has sent so far.
  int64_t bytes_sent() const { return bytes_sent_; }

 protected:
  int64_t bytes_sent_ = 0;
};

// The one-rank communicator (no peers; exchanges must be empty).
std::unique_ptr<Communicator> single_process_communicator();

// "single", "mpi" or "nccl" (as the build allows); "auto": MPI when the process was started by
// an MPI launcher (mpiexec, or srun with PMI/PMIx), else single. Throws naming what the build
// lacks, or when srun started several tasks without MPI.
std::unique_ptr<Communicator> make_communicator(const std::string& kind);

// What `make_communicator` accepts in this build, e.g. "auto, single, mpi".
std::string communicator_kinds();

}  // namespace munet
