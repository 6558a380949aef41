// Raw multi-threaded reads of planned chunks; see raw_chunk_reads.h.
#include "io/raw_chunk_reads.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "io/chunk_checksums.h"
#include "io/hdf5_handles.h"

namespace munet::h5 {
namespace {

constexpr int64_t kLongestRead = int64_t(32) << 20;  // bytes in one pread at most
constexpr int64_t kDirectAlign = 4096;                // O_DIRECT offsets, lengths and buffers
// Bytes put in place, then hashed, at a time: a piece is hashed from the cache it was just written
// to (a core's L2 holds several), so verifying costs no second pass over memory.
constexpr int64_t kPiece = int64_t(256) << 10;

// True when the file stores data at the addresses HDF5 reports (no user block before it).
bool addresses_are_offsets(hid_t dataset) {
  const hid_t file = H5Iget_file_id(dataset);
  if (file < 0) return false;
  Handle owned(file, H5Fclose);
  Handle fcpl(H5Fget_create_plist(file), H5Pclose);
  hsize_t userblock = 1;
  return fcpl >= 0 && H5Pget_userblock(fcpl, &userblock) >= 0 && userblock == 0;
}

}  // namespace

bool RawChunkReads::add(hid_t dataset, float* dest, const Where& w, const uint64_t* expected) {
  Handle type(H5Dget_type(dataset), H5Tclose);
  Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (type < 0 || dcpl < 0 || H5Tequal(type, H5T_IEEE_F32LE) <= 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
      H5Pget_nfilters(dcpl) != 0 || H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) <= 0 ||
      !addresses_are_offsets(dataset))
    return false;
  const int rank = H5Pget_chunk(dcpl, 0, nullptr);
  if (rank <= 0) return false;
  std::vector<hsize_t> chunk(size_t(rank), 0);
  H5Pget_chunk(dcpl, rank, chunk.data());
  const std::vector<hsize_t> dims = dims_of(dataset, w);
  // A chunk is one contiguous piece of the row-major destination when it spans the whole dataset
  // after the last dimension k it splits, and is 1 wide before k.
  int k = 0;
  for (int j = 0; j < rank; ++j)
    if (chunk[size_t(j)] != dims[size_t(j)]) k = j;
  for (int j = 0; j < k; ++j)
    if (chunk[size_t(j)] != 1) return false;
  hsize_t inner = 1;  // elements per unit of dimension k
  for (int j = k + 1; j < rank; ++j) inner *= dims[size_t(j)];
  const hsize_t chunk_elements = inner * chunk[size_t(k)];
  if (chunk_elements * sizeof(float) > hsize_t(kLongestRead)) return false;  // larger than a bounce buffer

  Handle space(H5Dget_space(dataset), H5Sclose);
  hsize_t count = 0;
  if (space < 0 || H5Dget_num_chunks(dataset, space, &count) < 0) return false;
  std::vector<Read> planned;
  size_t object_index;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    object_index = objects_.size();
  }
  hsize_t covered = 0;
  std::vector<hsize_t> at(size_t(rank), 0);
  for (hsize_t i = 0; i < count; ++i) {
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t stored = 0;
    if (H5Dget_chunk_info(dataset, space, i, at.data(), &mask, &addr, &stored) < 0 || addr == HADDR_UNDEF ||
        stored != chunk_elements * sizeof(float))
      return false;
    hsize_t first = 0;  // row-major index of the chunk's first element
    for (int j = 0; j < rank; ++j) first = first * dims[size_t(j)] + at[size_t(j)];
    const hsize_t valid = std::min(chunk[size_t(k)], dims[size_t(k)] - at[size_t(k)]) * inner;
    planned.push_back({int64_t(addr), int64_t(valid * sizeof(float)), dest + first, object_index, {}});
    if (expected) {  // chunks are contiguous and chunk_elements apart in the row-major values
      const int64_t chunk = int64_t(first / chunk_elements);
      planned.back().checks.push_back({int64_t(valid * sizeof(float)), chunk, expected[chunk], object_index});
    }
    covered += valid;
  }
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (covered != total) return false;  // chunks missing (never written): let HDF5 decide
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Read& r : planned) {
    queued_ += r.bytes;
    // A chunk that continues the last queued read in the file and in memory extends it: fewer,
    // longer reads (chunks and datasets are allocated in order, so most of a component is one).
    Read* last = queue_.empty() ? nullptr : &queue_.back();
    if (last && last->file_offset + last->bytes == r.file_offset &&
        reinterpret_cast<char*>(last->dest) + last->bytes == reinterpret_cast<char*>(r.dest) &&
        last->bytes + r.bytes <= kLongestRead && last->checks.empty() == r.checks.empty()) {
      last->bytes += r.bytes;
      last->checks.insert(last->checks.end(), r.checks.begin(), r.checks.end());
      continue;
    }
    queue_.push_back(r);
  }
  objects_.push_back(w.object);
  wake_.notify_all();
  return true;
}

RawChunkReads::RawChunkReads(const std::string& path, int threads) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  MUNET_CHECK(fd_ >= 0, path, ": cannot open for reading parameters");
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  direct_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);  // -1 where unsupported
  for (int t = 0; t < std::max(1, threads); ++t) threads_.emplace_back([this] { work(); });
}

RawChunkReads::~RawChunkReads() { stop(); }

int64_t RawChunkReads::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_;
}

void RawChunkReads::Landing::landed(int64_t bytes) {
  const char* at = reinterpret_cast<const char*>(r_.dest) + at_;
  at_ += bytes;
  while (bytes > 0 && check_ < r_.checks.size()) {
    const Check& c = r_.checks[check_];
    const int64_t n = std::min(bytes, c.bytes - in_check_);
    hash_.add(at, size_t(n));
    at += n, bytes -= n, in_check_ += n;
    if (in_check_ < c.bytes) continue;
    const uint64_t got = hash_.digest();
    if (got != c.expected && damage_.empty()) {
      std::lock_guard<std::mutex> lock(reads_.mutex_);
      damage_ = chunk_damage(reads_.path_, reads_.objects_[c.object], c.chunk, got, c.expected);
    }
    hash_.reset();
    in_check_ = 0;
    ++check_;
  }
}

int64_t RawChunkReads::read_one(const Read& r, std::unique_ptr<char, void (*)(void*)>& bounce,
                                Landing& landing) const {
  char* to = reinterpret_cast<char*>(r.dest);
  if (direct_fd_ >= 0) {  // the covering aligned range into the bounce buffer, then into place
    const int64_t begin = r.file_offset / kDirectAlign * kDirectAlign;
    const int64_t end = (r.file_offset + r.bytes + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    if (!bounce) bounce.reset(static_cast<char*>(std::aligned_alloc(kDirectAlign, size_t(kLongestRead + 2 * kDirectAlign))));
    int64_t have = 0;
    ssize_t k = 1;
    while (bounce && begin + have < r.file_offset + r.bytes &&
           (k = ::pread(direct_fd_, bounce.get() + have, size_t(end - begin - have), off_t(begin + have))) > 0)
      have += k;
    if (bounce && begin + have >= r.file_offset + r.bytes) {
      for (int64_t done = 0; done < r.bytes; done += kPiece) {
        const int64_t n = std::min(kPiece, r.bytes - done);
        std::memcpy(to + done, bounce.get() + (r.file_offset - begin) + done, size_t(n));
        landing.landed(n);
      }
      return r.bytes;
    }
    // Direct I/O refused (a file system without it, another alignment): buffered reads below.
  }
  int64_t got = 0;
  ssize_t k = 1;
  while (got < r.bytes &&
         (k = ::pread(fd_, to + got, size_t(std::min(kPiece, r.bytes - got)), off_t(r.file_offset + got))) > 0) {
    got += k;
    landing.landed(k);
  }
  return got;
}

void RawChunkReads::work() {
  std::unique_ptr<char, void (*)(void*)> bounce(nullptr, std::free);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return closing_ || failed_ || !queue_.empty(); });
    if (failed_ || queue_.empty()) return;  // closing with nothing left, or a read failed
    const Read r = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Landing landing(*this, r);
    const int64_t got = read_one(r, bounce, landing);
    lock.lock();
    if (got < r.bytes && !failed_) {
      failed_ = true;
      error_ = cat(path_, ": ", objects_[r.object], ": cannot read ", r.bytes, " bytes at byte ", r.file_offset,
                   " (truncated or damaged file?)");
      wake_.notify_all();
    }
    if (!landing.damage().empty() && !failed_) {
      failed_ = true;
      error_ = landing.damage();
      wake_.notify_all();
    }
    done_ += got;
    progressed_.notify_all();
  }
}

void RawChunkReads::finish(const std::function<void(int64_t, int64_t)>& progress) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    closing_ = true;
    wake_.notify_all();
    while (done_ < queued_ && !failed_) {
      progressed_.wait_for(lock, std::chrono::milliseconds(500));
      if (progress) {
        const int64_t done = done_, queued = queued_;
        lock.unlock();
        progress(done, queued);
        lock.lock();
      }
    }
  }
  stop();
  if (failed_) throw Error(error_);
}

void RawChunkReads::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    if (done_ < queued_ && !failed_) {  // abandoned: the queued reads will not be done
      queue_.clear();
      failed_ = true;
      error_ = cat(path_, ": reading parameters was abandoned");
    }
    wake_.notify_all();
  }
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  if (fd_ >= 0) ::close(fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
  fd_ = direct_fd_ = -1;
}

}  // namespace munet::h5
