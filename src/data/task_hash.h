// A task's content hash: XXH3-128 (libxxhash) over its name, class count and decoded arrays, so
// that two copies of a task agree whatever file or recipe they came from, and a resumed run can
// tell that it sees the same data. The byte stream hashed (io/SCHEMA.md, "Task files"):
//   name (UTF-8), one 0 byte, num_classes (int64 LE), then per split (train, validation,
//   test): N, H, W, C (int64 LE each), the images (N*H*W*C uint8, NHWC), the labels (N int32 LE).
// Printed as 32 lowercase hex digits, high half first (Python: xxhash.xxh3_128_hexdigest).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace munet {

// The stream above, fed piece by piece (chunked reads and writes hash as they go).
class TaskHasher {
 public:
  TaskHasher(const std::string& name, int64_t num_classes);
  ~TaskHasher();
  TaskHasher(const TaskHasher&) = delete;
  TaskHasher& operator=(const TaskHasher&) = delete;

  // Starts a split; then its images (in order, any pieces), then its labels.
  void split(int64_t size, int64_t height, int64_t width, int64_t channels);
  void bytes(const void* data, size_t n);
  std::string hex() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace munet
