// check_task and the hash over split views.
#include "data/task_checks.h"

#include "data/task_hash.h"
#include "util/error.h"

namespace munet {

const char* const kSplitNames[3] = {"train", "validation", "test"};

TaskSplits splits_of(const TaskData& task) {
  return {{&task.train, 0, task.train.size}, {&task.validation, 0, task.validation.size},
          {&task.test, 0, task.test.size}};
}

void check_task(const TaskData& header, const TaskSplits& splits, const std::string& where,
                bool every_class_trained) {
  MUNET_CHECK(!header.name.empty(), where, ": the task has an empty name");
  MUNET_CHECK(header.name.find(',') == std::string::npos, where, ": task name '", header.name,
              "' contains a ',' (task lists are comma-separated)");
  MUNET_CHECK(header.num_classes >= 1, where, ": num_classes is ", header.num_classes, ", must be >= 1");
  MUNET_CHECK(int64_t(header.class_names.size()) == header.num_classes, where, ": ", header.class_names.size(),
              " class names for ", header.num_classes, " classes");
  const ImageSet& first = *splits.train.set;
  for (int s = 0; s < 3; ++s) {
    const SplitView& v = split_at(splits, s);
    MUNET_CHECK(v.size() > 0, where, ": split '", kSplitNames[s], "' has no examples");
    const ImageSet& set = *v.set;
    MUNET_CHECK(set.channels == 1 || set.channels == 3, where, ": ", kSplitNames[s], " images have ", set.channels,
                " channels, must be 1 (grey) or 3 (RGB)");
    MUNET_CHECK(set.height >= 1 && set.width >= 1, where, ": ", kSplitNames[s], " images are ", set.height, "x",
                set.width);
    MUNET_CHECK(set.height == first.height && set.width == first.width && set.channels == first.channels, where,
                ": ", kSplitNames[s], " images are ", set.height, "x", set.width, "x", set.channels,
                " but train images are ", first.height, "x", first.width, "x", first.channels);
    MUNET_CHECK(v.begin >= 0 && v.end <= set.size && int64_t(set.pixels.size()) == set.size * set.image_bytes() &&
                    int64_t(set.labels.size()) == set.size,
                where, ": ", kSplitNames[s], " arrays do not match their size");
    const int32_t* labels = v.labels();
    for (int64_t i = 0; i < v.size(); ++i)
      if (labels[i] < 0 || labels[i] >= header.num_classes)
        fail(where, ": ", kSplitNames[s], " label ", labels[i], " at index ", i, " is out of range [0, ",
             header.num_classes, ")");
  }
  if (!every_class_trained) return;
  std::vector<int64_t> count(header.num_classes, 0);
  for (int64_t i = 0; i < splits.train.size(); ++i) ++count[splits.train.labels()[i]];
  for (int c = 0; c < header.num_classes; ++c)
    MUNET_CHECK(count[c] > 0, where, ": class ", c, " ('", header.class_names[c],
                "') has no training example");
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "labels are hashed as held: little-endian int32");

std::string task_content_hash(const TaskData& header, const TaskSplits& splits) {
  TaskHasher h(header.name, header.num_classes);
  for (int s = 0; s < 3; ++s) {
    const SplitView& v = split_at(splits, s);
    h.split(v.size(), v.set->height, v.set->width, v.set->channels);
    h.bytes(v.images(), size_t(v.size() * v.set->image_bytes()));
    h.bytes(v.labels(), size_t(v.size()) * sizeof(int32_t));
  }
  return h.hex();
}

std::vector<std::string> numbered_class_names(int num_classes) {
  std::vector<std::string> out;
  for (int c = 0; c < num_classes; ++c) out.push_back(std::to_string(c));
  return out;
}

}  // namespace munet
