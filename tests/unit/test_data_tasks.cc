// The five benchmark tasks: real-data split sizes, class counts and known values (skipped when
// the datasets are absent), and errors for generated bad datasets laid out like the real root.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "data/tasks.h"
#include "support/data_root.h"
#include "support/expect_error.h"
#include "support/test_files.h"

namespace munet {
namespace {

using test::TempDir;

void expect_split(const ImageSet& set, int64_t size, int height, int width, int channels,
                  int num_classes) {
  EXPECT_EQ(set.size, size);
  EXPECT_EQ(set.height, height);
  EXPECT_EQ(set.width, width);
  EXPECT_EQ(set.channels, channels);
  EXPECT_EQ(int64_t(set.pixels.size()), size * height * width * channels);
  ASSERT_EQ(int64_t(set.labels.size()), size);
  for (int32_t label : set.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, num_classes);
  }
}

void expect_task(const TaskData& task, const std::string& name, int num_classes, int64_t train,
                 int64_t validation, int64_t test, int side, int channels) {
  EXPECT_EQ(task.name, name);
  EXPECT_EQ(task.num_classes, num_classes);
  expect_split(task.train, train, side, side, channels, num_classes);
  expect_split(task.validation, validation, side, side, channels, num_classes);
  expect_split(task.test, test, side, side, channels, num_classes);
}

int64_t pixel_sum(const ImageSet& set, int64_t i) {
  return std::accumulate(set.image(i), set.image(i) + set.image_bytes(), int64_t(0));
}

TEST(RealTasks, Mnist) {
  MUNET_REQUIRE_DATA_ROOT(root);
  const TaskData task = load_task("mnist", root);
  expect_task(task, "mnist", 10, 57000, 3000, 10000, 28, 1);
  EXPECT_EQ(task.train.labels[0], 5);
  EXPECT_EQ(task.test.labels[0], 7);
  EXPECT_EQ(pixel_sum(task.train, 0), 27525);          // first training image
  EXPECT_EQ(pixel_sum(task.validation, 2999), 20920);  // last of the 60,000
  EXPECT_EQ(task.validation.labels[2999], 8);
}

TEST(RealTasks, FashionMnist) {
  MUNET_REQUIRE_DATA_ROOT(root);
  const TaskData task = load_task("fashion_mnist", root);
  expect_task(task, "fashion_mnist", 10, 57000, 3000, 10000, 28, 1);
  EXPECT_EQ(task.train.labels[0], 9);
  EXPECT_EQ(task.validation.labels[2999], 5);
  EXPECT_EQ(std::vector<int32_t>(task.test.labels.begin(), task.test.labels.begin() + 5),
            (std::vector<int32_t>{9, 2, 1, 1, 6}));
}

TEST(RealTasks, Omniglot) {
  MUNET_REQUIRE_DATA_ROOT(root);
  const TaskData task = load_task("omniglot", root);
  expect_task(task, "omniglot", 1623, 22722, 3246, 6492, 105, 1);
  for (int d = 0; d < 14; ++d) EXPECT_EQ(task.train.labels[d], 0);
  EXPECT_EQ(task.train.labels[14], 1);
  EXPECT_EQ(task.validation.labels[1], 0);
  EXPECT_EQ(task.validation.labels[2], 1);
  EXPECT_EQ(task.test.labels[3], 0);
  EXPECT_EQ(task.test.labels[4], 1);
  EXPECT_EQ(task.train.labels[964 * 14 - 1], 963);  // last background character
  EXPECT_EQ(task.train.labels[964 * 14], 964);      // first evaluation character
  EXPECT_EQ(task.test.labels.back(), 1622);
  EXPECT_EQ(pixel_sum(task.train, 0), 10108 * 255);  // white background, dark strokes
  for (const ImageSet* set : {&task.train, &task.validation, &task.test})
    for (uint8_t p : set->pixels) ASSERT_TRUE(p == 0 || p == 255);
}

// The training files are sorted by label: after the fixed shuffle, validation and train each hold
// every class in roughly equal shares (10% each, binomial sd ~1% for 1000 examples).
void expect_all_classes(const TaskData& task) {
  for (const ImageSet* set : {&task.validation, &task.train}) {
    std::vector<int> count(10, 0);
    for (int32_t l : set->labels) ++count[l];
    for (int c = 0; c < 10; ++c)
      EXPECT_NEAR(count[c] / double(set->size), 0.1, 0.035) << task.name << " class " << c;
  }
}

TEST(RealTasks, CmaterdbBangla) {
  MUNET_REQUIRE_DATA_ROOT(root);
  const TaskData task = load_task("cmaterdb_bangla", root);
  expect_task(task, "cmaterdb_bangla", 10, 4000, 1000, 1000, 32, 3);
  expect_all_classes(task);
  EXPECT_EQ(task.test.labels[0], 9);
}

TEST(RealTasks, CmaterdbDevanagari) {
  MUNET_REQUIRE_DATA_ROOT(root);
  const TaskData task = load_task("cmaterdb_devanagari", root);
  expect_task(task, "cmaterdb_devanagari", 10, 2000, 500, 500, 32, 3);
  expect_all_classes(task);
  EXPECT_EQ(task.test.labels.back(), 5);
}

// A generated mnist directory: n train and n_test test images of 28x28 whose pixels all equal
// their index, labels index % 10.
void write_mnist(const TempDir& root, int n, int n_test) {
  for (const auto& [prefix, count] : {std::pair{"train", n}, std::pair{"t10k", n_test}}) {
    std::vector<uint8_t> pixels, labels;
    for (int i = 0; i < count; ++i) {
      pixels.insert(pixels.end(), 28 * 28, uint8_t(i));
      labels.push_back(uint8_t(i % 10));
    }
    test::write_gzip(root.file(cat("mnist/", prefix, "-images-idx3-ubyte.gz")),
                     test::idx_images(count, 28, 28, pixels));
    test::write_gzip(root.file(cat("mnist/", prefix, "-labels-idx1-ubyte.gz")),
                     test::idx_labels(labels));
  }
}

TEST(GeneratedTasks, MnistValidationIsTheLastFivePercent) {
  TempDir root;
  write_mnist(root, 40, 6);
  const TaskData task = load_task("mnist", root.path());
  expect_task(task, "mnist", 10, 38, 2, 6, 28, 1);
  EXPECT_EQ(task.validation.image(0)[0], 38);
  EXPECT_EQ(task.validation.labels[1], 9);
  EXPECT_EQ(task.train.image(37)[0], 37);
}

TEST(GeneratedTasks, CmaterdbValidationIsTheFirstTwentyPercentOfAFixedShuffle) {
  TempDir root;
  for (const auto& [file, count] : {std::pair{"training", 10}, std::pair{"testing", 3}}) {
    std::vector<uint8_t> pixels;
    std::vector<int64_t> labels;
    for (int i = 0; i < count; ++i) {
      pixels.insert(pixels.end(), 32 * 32 * 3, uint8_t(i));
      labels.push_back(9 - i % 10);
    }
    test::write_npz(root.file(cat("cmaterdb/bangla/", file, "-images.npz")),
                    {{"images", test::npy_u1({count, 32, 32, 3}, pixels)},
                     {"labels", test::npy_i8({count}, labels)}});
  }
  const TaskData task = load_task("cmaterdb_bangla", root.path());
  expect_task(task, "cmaterdb_bangla", 10, 8, 2, 3, 32, 3);
  // Every training image (pixels = its index, label 9 - index) lands in exactly one split,
  // with its own label, in the same order on every load.
  std::vector<int> seen(10, 0);
  for (const ImageSet* set : {&task.validation, &task.train})
    for (int64_t i = 0; i < set->size; ++i) {
      const int index = set->image(i)[0];
      ++seen.at(index);
      EXPECT_EQ(set->labels[i], 9 - index);
    }
  for (int s : seen) EXPECT_EQ(s, 1);
  const TaskData again = load_task("cmaterdb_bangla", root.path());
  EXPECT_EQ(again.validation.pixels, task.validation.pixels);
  EXPECT_EQ(again.train.labels, task.train.labels);
  EXPECT_EQ(task.test.image(1)[0], 1);  // test keeps the file's order
}

TEST(TaskErrors, UnknownTaskListsValidNames) {
  EXPECT_ERROR(load_task("kmnist", "/nonexistent"), "unknown task 'kmnist'",
               "mnist, fashion_mnist, omniglot, cmaterdb_bangla, cmaterdb_devanagari");
}

TEST(TaskErrors, MissingFileNamesIt) {
  TempDir root;
  EXPECT_ERROR(load_task("mnist", root.path()), root.path() + "/mnist/train-images-idx3-ubyte.gz",
               "cannot open");
}

TEST(TaskErrors, ImageLabelCountMismatchNamesBothFiles) {
  TempDir root;
  write_mnist(root, 40, 6);
  test::write_gzip(root.file("mnist/train-labels-idx1-ubyte.gz"),
                   test::idx_labels(std::vector<uint8_t>(39, 1)));
  EXPECT_ERROR(load_task("mnist", root.path()), "count mismatch",
               root.path() + "/mnist/train-images-idx3-ubyte.gz", "40 images",
               root.path() + "/mnist/train-labels-idx1-ubyte.gz", "39 labels");
}

TEST(TaskErrors, LabelOutOfRangeNamesFileIndexAndValue) {
  TempDir root;
  write_mnist(root, 40, 6);
  test::write_gzip(root.file("mnist/t10k-labels-idx1-ubyte.gz"),
                   test::idx_labels({0, 1, 2, 10, 4, 5}));
  EXPECT_ERROR(load_task("mnist", root.path()), root.path() + "/mnist/t10k-labels-idx1-ubyte.gz",
               "label 10 at index 3", "out of range");
}

TEST(TaskErrors, UnexpectedImageShapeNamesFile) {
  TempDir root;
  write_mnist(root, 40, 6);
  test::write_gzip(root.file("mnist/t10k-images-idx3-ubyte.gz"),
                   test::idx_images(6, 27, 29, std::vector<uint8_t>(6 * 27 * 29)));
  EXPECT_ERROR(load_task("mnist", root.path()), root.path() + "/mnist/t10k-images-idx3-ubyte.gz",
               "unexpected image shape", "27x29x1");
}

TEST(TaskErrors, NpzLabelProblemsNameFileAndArray) {
  TempDir root;
  const std::string train = root.file("cmaterdb/devanagari/training-images.npz");
  const std::vector<uint8_t> pixels(5 * 32 * 32 * 3);
  test::write_npz(train, {{"images", test::npy_u1({5, 32, 32, 3}, pixels)},
                          {"labels", test::npy_i8({5}, {0, 1, -2, 3, 4})}});
  EXPECT_ERROR(load_task("cmaterdb_devanagari", root.path()), train, "'labels'",
               "label -2 at index 2");
  test::write_npz(train, {{"images", test::npy_u1({5, 32, 32, 3}, pixels)},
                          {"labels", test::npy_i8({4}, {0, 1, 2, 3})}});
  EXPECT_ERROR(load_task("cmaterdb_devanagari", root.path()), train, "5 images", "4 labels");
  test::write_npz(train, {{"images", test::npy_u1({5, 32, 32, 1}, std::vector<uint8_t>(5 * 1024))},
                          {"labels", test::npy_i8({5}, {0, 1, 2, 3, 4})}});
  EXPECT_ERROR(load_task("cmaterdb_devanagari", root.path()), train, "unexpected image shape",
               "(5, 32, 32, 1)");
}

TEST(TaskErrors, OmniglotShapeProblemsNameFile) {
  TempDir root;
  const std::string background = root.file("omniglot/images_background.npz");
  const std::string evaluation = root.file("omniglot/images_evaluation.npz");
  test::write_npz(background, {{"labels", test::npy_i8({1, 20}, std::vector<int64_t>(20, 0))}});
  test::write_npz(evaluation, {{"labels", test::npy_i8({1, 19}, std::vector<int64_t>(19, 0))}});
  EXPECT_ERROR(load_task("omniglot", root.path()), evaluation, "unexpected shape", "(1, 19)");
  test::write_npz(evaluation, {{"labels", test::npy_i8({1, 20}, std::vector<int64_t>(20, 0))}});
  EXPECT_ERROR(load_task("omniglot", root.path()), "needs 1623 characters", background, evaluation);
}

// Sets MUNET_DATA for one scope and restores the previous value.
class ScopedDataEnv {
 public:
  explicit ScopedDataEnv(const std::string& value) {
    if (const char* old = std::getenv("MUNET_DATA")) old_ = old;
    ::setenv("MUNET_DATA", value.c_str(), 1);
  }
  ~ScopedDataEnv() {
    if (old_)
      ::setenv("MUNET_DATA", old_->c_str(), 1);
    else
      ::unsetenv("MUNET_DATA");
  }

 private:
  std::optional<std::string> old_;
};

TEST(FindDataRoot, ExplicitRootWinsAndMustBeADirectory) {
  TempDir dir;
  const ScopedDataEnv env("/nonexistent/munet/env");
  EXPECT_EQ(find_data_root(dir.path()), dir.path());
  EXPECT_ERROR(find_data_root(dir.path() + "/missing"), dir.path() + "/missing", "not a directory");
}

TEST(FindDataRoot, EnvironmentVariableIsUsedAndChecked) {
  TempDir dir;
  {
    const ScopedDataEnv env(dir.path());
    EXPECT_EQ(find_data_root(), dir.path());
  }
  const ScopedDataEnv env(dir.path() + "/missing");
  EXPECT_ERROR(find_data_root(), "MUNET_DATA", dir.path() + "/missing", "not a directory");
}

// The default data root is found from the executable's folder upward (build/, the repository, its
// parent), never from the working directory.
TEST(FindDataRoot, DefaultIsSharedDatasetsAboveTheExecutablesFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/repo/build/tests");
  EXPECT_EQ(data_root_above(dir.path() + "/repo/build/tests"), "");
  std::filesystem::create_directories(dir.path() + "/shared/datasets");
  EXPECT_EQ(data_root_above(dir.path() + "/repo/build/tests"), dir.path() + "/shared/datasets");
  std::filesystem::create_directories(dir.path() + "/repo/shared/datasets");
  EXPECT_EQ(data_root_above(dir.path() + "/repo/build"), dir.path() + "/repo/shared/datasets");
  EXPECT_EQ(data_root_above(dir.path() + "/repo/build/tests/a/b"), "");  // 4 levels at most
}

TEST(BuiltInTasks, GoThroughTheTaskChecksAndGetAContentHash) {
  TempDir root;
  write_mnist(root, 40, 6);
  const TaskData task = load_task("mnist", root.path());
  EXPECT_EQ(task.content_hash.size(), 32u);
  EXPECT_EQ(task.class_names.size(), 10u);
  EXPECT_NE(task.source.find(root.path() + "/mnist"), std::string::npos);
  EXPECT_EQ(load_task("mnist", root.path()).content_hash, task.content_hash);
}

}  // namespace
}  // namespace munet
