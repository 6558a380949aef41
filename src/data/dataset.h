// In-memory image datasets and tasks (a built-in recipe's or a task file's). Images stay uint8
// as read from disk (NHWC, 1 or 3 channels); preprocessing turns batches into floats later.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

struct ImageSet {
  int64_t size = 0;
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // size * height * width * channels, NHWC
  std::vector<int32_t> labels;  // size, each in [0, num_classes)

  int64_t image_bytes() const { return int64_t(height) * width * channels; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
};

struct TaskData {
  std::string name;
  int num_classes = 0;
  ImageSet train, validation, test;
  std::vector<std::string> class_names;  // num_classes of them
  std::string source;        // where the data came from (files, a folder, a recipe)
  std::string content_hash;  // XXH3-128 of name, class count and arrays (data/task_hash.h)
  std::string file;          // the task file it was read from; empty for a built-in recipe
};

}  // namespace munet
