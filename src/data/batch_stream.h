// Endless, epoch-shuffled example order for training: every epoch visits each index once in
// a fresh permutation drawn from Rng(seed, {epoch}); batches may span epoch boundaries.
#pragma once
#include <cstdint>
#include <vector>

namespace munet {

class BatchStream {
 public:
  // set_size must be positive (throws munet::Error otherwise).
  BatchStream(int64_t set_size, uint64_t seed);

  // Replaces indices with the next `batch` indices of the stream.
  void next(int batch, std::vector<int64_t>& indices);

  // The epoch the next index comes from (0 for the first).
  int64_t epoch() const { return epoch_; }

 private:
  void shuffle_epoch();

  int64_t size_;
  uint64_t seed_;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace munet
