// Reads the chunks of float32 parameter datasets straight from the file with several threads,
// while HDF5 is still walking the file's metadata. HDF5 (a serial, non-thread-safe library here)
// reads one chunk at a time into one thread, and filling fresh memory from the page cache is
// page-fault bound on one core: a multi-gigabyte checkpoint would read at well under the disk's
// speed. Chunks that are stored raw (float32 little-endian, no filters) and land in one
// contiguous piece of the destination are queued as HDF5 finds them, and read by pread on
// several threads at once, with O_DIRECT where the file system allows it: a pool of tens of
// gigabytes then needs no second copy in the page cache (and does not evict what is there).
#pragma once
#include <hdf5.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/chunk_checksums.h"
#include "io/hdf5_values.h"

namespace munet::h5 {

class RawChunkReads {
 public:
  // Opens `path` and starts `threads` reading threads.
  RawChunkReads(const std::string& path, int threads);
  // Stops the threads (after their current read) if finish() was not reached.
  ~RawChunkReads();
  RawChunkReads(const RawChunkReads&) = delete;
  RawChunkReads& operator=(const RawChunkReads&) = delete;

  // Queues the reads of `dataset` (already checked to have the destination's shape) into `dest`,
  // which must stay allocated until finish() or stop() returns. Returns false, queueing nothing,
  // when the dataset is not stored so that it can be read raw; the caller then reads it through HDF5.
  // With `expected` (one XXH3-64 per chunk, row-major order: chunk_checksums.h), each chunk is
  // verified by the thread that reads it, in the same pass that puts it in place (each piece
  // hashed as it lands, while the other threads' reads are in flight); finish() throws on a mismatch.
  bool add(hid_t dataset, float* dest, const Where& w, const uint64_t* expected = nullptr);

  // Bytes queued so far.
  int64_t bytes() const;

  // Waits for every queued read, calling progress(bytes done, bytes queued) now and then. Throws
  // naming the file, the dataset and the offset of a chunk that could not be read, or the chunk
  // and both hashes of one whose checksum does not match.
  void finish(const std::function<void(int64_t, int64_t)>& progress = nullptr);

  // Abandons the queued reads and waits for the threads (for error paths).
  void stop();

 private:
  struct Check {  // one chunk to verify as its read lands
    int64_t bytes, chunk;
    uint64_t expected;
    size_t object;
  };
  struct Read {
    int64_t file_offset, bytes;
    float* dest;
    size_t object;              // index into objects_
    std::vector<Check> checks;  // the chunks it covers in order, when they have checksums (else none)
  };
  // Checks a read's chunks as its bytes land, piece by piece, each piece hashed while it is still
  // in the cache (no second pass over the read's memory).
  class Landing {
   public:
    Landing(const RawChunkReads& reads, const Read& r) : reads_(reads), r_(r) {}
    // The next `bytes` of the read's destination have landed.
    void landed(int64_t bytes);
    const std::string& damage() const { return damage_; }  // the first mismatch, or ""

   private:
    const RawChunkReads& reads_;
    const Read& r_;
    size_t check_ = 0;     // the chunk being hashed
    int64_t at_ = 0, in_check_ = 0;  // bytes landed in the read, in that chunk
    Xxh3Stream hash_;
    std::string damage_;
  };
  void work();
  // Reads one planned read, verifying it as it lands; returns the bytes placed (fewer: the file
  // ended early).
  int64_t read_one(const Read& r, std::unique_ptr<char, void (*)(void*)>& bounce, Landing& landing) const;

  std::string path_;
  int fd_ = -1, direct_fd_ = -1;  // direct: O_DIRECT, past the page cache (see read_one)
  mutable std::mutex mutex_;
  std::condition_variable wake_, progressed_;
  std::deque<Read> queue_;
  std::vector<std::string> objects_;
  int64_t queued_ = 0, done_ = 0;
  bool closing_ = false, failed_ = false;
  std::string error_;
  std::vector<std::thread> threads_;
};

}  // namespace munet::h5
