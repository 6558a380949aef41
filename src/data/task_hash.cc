// TaskHasher on libxxhash's streaming XXH3-128.
#include "data/task_hash.h"

#include <xxhash.h>

#include <cstdio>

#include "util/error.h"

namespace munet {

struct TaskHasher::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

namespace {

void put_int64(XXH3_state_t* s, int64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = uint8_t(uint64_t(v) >> (8 * i));
  XXH3_128bits_update(s, le, sizeof le);
}

}  // namespace

TaskHasher::TaskHasher(const std::string& name, int64_t num_classes) : state_(std::make_unique<State>()) {
  MUNET_CHECK(state_->xxh != nullptr && XXH3_128bits_reset(state_->xxh) == XXH_OK, "cannot start an XXH3 hash");
  XXH3_128bits_update(state_->xxh, name.data(), name.size());
  const uint8_t zero = 0;
  XXH3_128bits_update(state_->xxh, &zero, 1);
  put_int64(state_->xxh, num_classes);
}

TaskHasher::~TaskHasher() = default;

void TaskHasher::split(int64_t size, int64_t height, int64_t width, int64_t channels) {
  for (int64_t v : {size, height, width, channels}) put_int64(state_->xxh, v);
}

void TaskHasher::bytes(const void* data, size_t n) { XXH3_128bits_update(state_->xxh, data, n); }

std::string TaskHasher::hex() const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->xxh));
  char out[33];
  for (int i = 0; i < 16; ++i) std::snprintf(out + 2 * i, 3, "%02x", canonical.digest[i]);
  return std::string(out, 32);
}

}  // namespace munet
