// The MPI communicator (CPU memory): collectives on MPI_COMM_WORLD, parameters by nonblocking
// point-to-point messages. MPI errors return codes (MPI_ERRORS_RETURN) that become munet errors
// naming the rank and the call; a failing rank aborts the job (see app/main.cc), so no peer waits
// forever on it.
#include "dist/mpi_communicator.h"

#include <algorithm>
#include <climits>

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
  std::vector<MPI_Request> requests;
  auto post = [&](const Transfer& t, bool send) {
    MUNET_CHECK(t.peer >= 0 && t.peer < size_ && t.peer != rank_, "rank ", rank_, ": transfer with rank ", t.peer);
    for (int64_t at = 0; at < t.count; at += kMaxMessage) {
      const int n = int(std::min(kMaxMessage, t.count - at));
      requests.emplace_back();
      if (send)
        check_mpi(MPI_Isend(t.data + at, n, MPI_FLOAT, t.peer, 0, MPI_COMM_WORLD, &requests.back()), rank_,
                  "MPI_Isend");
      else
        check_mpi(MPI_Irecv(t.data + at, n, MPI_FLOAT, t.peer, 0, MPI_COMM_WORLD, &requests.back()), rank_,
                  "MPI_Irecv");
    }
  };
  for (const Transfer& t : receives) post(t, false);
  for (const Transfer& t : sends) {
    post(t, true);
    bytes_sent_ += t.count * int64_t(sizeof(float));
  }
  check_mpi(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), rank_, "MPI_Waitall");
}

void MpiCommunicator::abort(int status) {
  MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status);
}

}  // namespace munet
