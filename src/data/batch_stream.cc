// BatchStream: a permutation per epoch, consumed in order.
#include "data/batch_stream.h"

#include <numeric>

#include "util/error.h"
#include "util/rng.h"

namespace munet {

BatchStream::BatchStream(int64_t set_size, uint64_t seed) : size_(set_size), seed_(seed) {
  MUNET_CHECK(set_size > 0, "BatchStream: the example set is empty (size ", set_size, ")");
  shuffle_epoch();
}

void BatchStream::shuffle_epoch() {
  order_.resize(static_cast<size_t>(size_));
  std::iota(order_.begin(), order_.end(), int64_t(0));
  Rng rng(seed_, {uint64_t(epoch_)});
  rng.shuffle(order_);
  position_ = 0;
}

void BatchStream::next(int batch, std::vector<int64_t>& indices) {
  MUNET_CHECK(batch >= 0, "BatchStream: negative batch size ", batch);
  indices.resize(static_cast<size_t>(batch));
  for (int64_t& index : indices) {
    index = order_[position_++];
    if (position_ == size_) {
      ++epoch_;
      shuffle_epoch();
    }
  }
}

}  // namespace munet
