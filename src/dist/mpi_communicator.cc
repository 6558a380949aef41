// The MPI communicator (CPU memory): collectives on MPI_COMM_WORLD, parameters by nonblocking
// point-to-point messages. MPI errors return codes (MPI_ERRORS_RETURN) that become munet errors
// naming the rank and the call; a failing rank aborts the job (see app/main.cc), so no peer waits
// forever on it.
#include "dist/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "util/error.h"

namespace munet {
namespace {

void check_mpi(int code, int rank, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail("rank ", rank, ": ", call, " failed: ", std::string(text, size_t(length)));
}

// Largest count of floats in one message (MPI counts are int).
constexpr int64_t kMaxMessage = int64_t(1) << 28;

}  // namespace

MpiCommunicator::MpiCommunicator() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), rank_,
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_mpi_ && !finalized) MPI_Finalize();
}

std::vector<std::string> MpiCommunicator::allgather(const std::string& mine) {
  MUNET_CHECK(mine.size() <= size_t(INT_MAX), "rank ", rank_, ": allgather of ", mine.size(), " bytes");
  const int n = int(mine.size());
  std::vector<int> sizes(size_t(size_), 0), offsets(size_t(size_), 0);
  check_mpi(MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD), rank_, "MPI_Allgather");
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) offsets[size_t(r)] = int(total), total += sizes[size_t(r)];
  MUNET_CHECK(total <= INT_MAX, "rank ", rank_, ": allgather of ", total, " bytes in all");
  std::string all(size_t(total), '\0');
  check_mpi(MPI_Allgatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE,
                           MPI_COMM_WORLD),
            rank_, "MPI_Allgatherv");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) out.push_back(all.substr(size_t(offsets[size_t(r)]), size_t(sizes[size_t(r)])));
  return out;
}

void MpiCommunicator::broadcast(std::string& data, int root) {
  int64_t n = int64_t(data.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD), rank_, "MPI_Bcast");
  MUNET_CHECK(n <= INT_MAX, "rank ", rank_, ": broadcast of ", n, " bytes");
  data.resize(size_t(n));
  check_mpi(MPI_Bcast(data.data(), int(n), MPI_BYTE, root, MPI_COMM_WORLD), rank_, "MPI_Bcast");
}

bool MpiCommunicator::any(bool flag) {
  int mine = flag ? 1 : 0, all = 0;
  check_mpi(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), rank_, "MPI_Allreduce");
  return all != 0;
}

void MpiCommunicator::exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& receives) {
  for (const auto* list : {&sends, &receives})
    for (const Transfer& t : *list)
      MUNET_CHECK(t.peer >= 0 && t.peer < size_ && t.peer != rank_, "rank ", rank_, ": transfer with rank ", t.peer);
  // From the first post on, a failure cannot be thrown: unwinding would free buffers that posted
  // receives may still write. It ends the job instead, naming the rank and the call.
  auto fatal = [&](int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    try {
      check_mpi(code, rank_, call);
    } catch (const Error& e) {
      std::fprintf(stderr, "munet: %s\n", e.what());
    }
    abort(1);
  };
  std::vector<MPI_Request> requests;
  std::vector<int> expected;  // floats per posted message (receives only; -1 for sends)
  auto post = [&](const Transfer& t, bool send) {
    for (int64_t at = 0; at < t.count; at += kMaxMessage) {
      const int n = int(std::min(kMaxMessage, t.count - at));
      requests.emplace_back();
      expected.push_back(send ? -1 : n);
      if (send)
        fatal(MPI_Isend(t.data + at, n, MPI_FLOAT, t.peer, 0, MPI_COMM_WORLD, &requests.back()), "MPI_Isend");
      else
        fatal(MPI_Irecv(t.data + at, n, MPI_FLOAT, t.peer, 0, MPI_COMM_WORLD, &requests.back()), "MPI_Irecv");
    }
  };
  for (const Transfer& t : receives) post(t, false);
  for (const Transfer& t : sends) {
    post(t, true);
    bytes_sent_ += t.count * int64_t(sizeof(float));
  }
  std::vector<MPI_Status> statuses(requests.size());
  fatal(MPI_Waitall(int(requests.size()), requests.data(), statuses.data()), "MPI_Waitall");
  // A shorter message than the receive expects is no MPI error, but here it means the ranks
  // disagree about what moves: stop rather than train on half-filled parameters.
  for (size_t i = 0; i < requests.size(); ++i) {
    if (expected[i] < 0) continue;
    int got = 0;
    MPI_Get_count(&statuses[i], MPI_FLOAT, &got);
    if (got != expected[i]) {
      std::fprintf(stderr, "munet: rank %d: expected %d floats from rank %d, got %d (ranks out of step)\n", rank_,
                   expected[i], statuses[i].MPI_SOURCE, got);
      abort(1);
    }
  }
}

void MpiCommunicator::abort(int status) {
  MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status);
}

}  // namespace munet
