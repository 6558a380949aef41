// The rules every task obeys, whether a recipe built it, a task file held it or `munet task pack`
// is making it: splits that are not empty, one image shape, labels in range, class names that
// match the class count. A task is checked as three views (contiguous rows of image sets), so
// that a task being packed is checked and written without a second copy of its images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace munet {

// Rows [begin, end) of an image set.
struct SplitView {
  const ImageSet* set = nullptr;
  int64_t begin = 0, end = 0;

  int64_t size() const { return end - begin; }
  const uint8_t* images() const { return set->image(begin); }
  const int32_t* labels() const { return set->labels.data() + begin; }
};

struct TaskSplits {
  SplitView train, validation, test;
};

extern const char* const kSplitNames[3];  // "train", "validation", "test"

// Whole-set views of an in-memory task.
TaskSplits splits_of(const TaskData& task);
inline const SplitView& split_at(const TaskSplits& s, int i) {
  return i == 0 ? s.train : i == 1 ? s.validation : s.test;
}

// Throws munet::Error starting with `where` (a file, "task mnist") for: an empty name or one with
// a ',' (task lists are comma-separated), a class count below 1, class_names of another length,
// a split with zero examples, splits of different image shapes, a channel count other than 1
// or 3, a label out of [0, num_classes) (naming split, index and value) and, when
// every_class_trained, a class without a training example (naming the class).
void check_task(const TaskData& header, const TaskSplits& splits, const std::string& where,
                bool every_class_trained);

// The hash of data/task_hash.h over views.
std::string task_content_hash(const TaskData& header, const TaskSplits& splits);

// "0", "1", ...: class names for sources that have none.
std::vector<std::string> numbered_class_names(int num_classes);

}  // namespace munet
