// The built-in recipes: IDX tasks (mnist, fashion_mnist), NPZ tasks (cmaterdb_*, omniglot), their
// fixed splits, and the checks that turn bad files into errors naming the file. Each recipe's task
// ends like a task file's: checked by check_task and given its content hash.
#include "data/tasks.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "data/builtin_hashes.h"
#include "data/idx_reader.h"
#include "data/npz_reader.h"
#include "data/task_checks.h"
#include "util/error.h"
#include "util/rng.h"

namespace munet {
namespace {

constexpr char kFashionSystemDir[] = "/usr/share/datasets/fashion-mnist";  // Debian's package
constexpr int kDataSearchLevels = 4;  // the executable's folder and three above it
constexpr int kOmniglotClasses = 1623, kOmniglotDrawings = 20, kOmniglotSide = 105;

bool is_directory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string join(const std::string& dir, const std::string& name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

void check_shape(const ImageSet& set, const std::string& source, int height, int width,
                 int channels) {
  if (set.height != height || set.width != width || set.channels != channels)
    fail(source, ": unexpected image shape ", set.height, "x", set.width, "x", set.channels,
         ", expected ", height, "x", width, "x", channels);
}

void check_labels(const std::vector<int32_t>& labels, const std::string& source, int num_classes) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= num_classes)
      fail(source, ": label ", labels[i], " at index ", i, " is out of range [0, ", num_classes,
           ")");
}

void check_counts(int64_t images, const std::string& images_source, size_t labels,
                  const std::string& labels_source) {
  if (images != static_cast<int64_t>(labels))
    fail("image/label count mismatch: ", images_source, " holds ", images, " images but ",
         labels_source, " holds ", labels, " labels");
}

// A copy of examples [begin, end) of set.
ImageSet slice(const ImageSet& set, int64_t begin, int64_t end) {
  ImageSet out;
  out.size = end - begin;
  out.height = set.height;
  out.width = set.width;
  out.channels = set.channels;
  out.pixels.assign(set.image(begin), set.image(end));
  out.labels.assign(set.labels.begin() + begin, set.labels.begin() + end);
  return out;
}

// An empty set of n images of the given shape.
ImageSet allocate(int64_t n, int height, int width, int channels) {
  ImageSet out;
  out.size = n;
  out.height = height;
  out.width = width;
  out.channels = channels;
  out.pixels.resize(static_cast<size_t>(n * out.image_bytes()));
  out.labels.resize(static_cast<size_t>(n));
  return out;
}

ImageSet load_idx_split(const std::string& dir, const std::string& prefix, int num_classes) {
  const std::string images_path = join(dir, prefix + "-images-idx3-ubyte.gz");
  const std::string labels_path = join(dir, prefix + "-labels-idx1-ubyte.gz");
  ImageSet set = read_idx_images(images_path);
  check_shape(set, images_path, 28, 28, 1);
  set.labels = read_idx_labels(labels_path);
  check_counts(set.size, images_path, set.labels.size(), labels_path);
  check_labels(set.labels, labels_path, num_classes);
  return set;
}

// mnist layout; validation = the last 5% of train.
TaskData load_idx_task(const std::string& name, const std::string& dir) {
  TaskData task;
  task.name = name;
  task.num_classes = 10;
  const ImageSet full = load_idx_split(dir, "train", task.num_classes);
  const int64_t n_train = full.size - full.size * 5 / 100;
  task.train = slice(full, 0, n_train);
  task.validation = slice(full, n_train, full.size);
  task.test = load_idx_split(dir, "t10k", task.num_classes);
  return task;
}

ImageSet load_cmaterdb_split(const std::string& path, int num_classes) {
  const NpzArchive npz(path);
  const NpyArray images = npz.read("images");
  const std::vector<int64_t>& shape = images.shape();
  if (shape.size() != 4 || shape[1] != 32 || shape[2] != 32 || shape[3] != 3)
    fail(images.where(), ": unexpected image shape ", shape_string(shape),
         ", expected (N, 32, 32, 3)");
  const NpyArray labels = npz.read("labels");
  if (labels.shape().size() != 1)
    fail(labels.where(), ": unexpected shape ", shape_string(labels.shape()), ", expected (N,)");
  ImageSet set;
  set.size = shape[0];
  set.height = 32;
  set.width = 32;
  set.channels = 3;
  set.pixels = images.to_uint8();
  set.labels = labels.to_int32();
  check_counts(set.size, images.where(), set.labels.size(), labels.where());
  check_labels(set.labels, labels.where(), num_classes);
  return set;
}

// The examples of `set` in a fixed pseudo-random order (the same on every machine and run).
ImageSet permuted(const ImageSet& set, uint64_t seed) {
  std::vector<int64_t> order(set.size);
  for (int64_t i = 0; i < set.size; ++i) order[i] = i;
  Rng(seed).shuffle(order);
  ImageSet out = allocate(set.size, set.height, set.width, set.channels);
  for (int64_t i = 0; i < set.size; ++i) {
    std::copy(set.image(order[i]), set.image(order[i]) + set.image_bytes(),
              out.pixels.data() + i * set.image_bytes());
    out.labels[i] = set.labels[order[i]];
  }
  return out;
}

// cmaterdb layout; validation = the first 20% of train. The training files are sorted by label
// (their first 20% holds only classes 9 and 0), while TFDS, whose splits these are, shuffles
// records when it builds a split: so train is put in a fixed shuffled order first.
constexpr uint64_t kCmaterdbOrderSeed = 0x636d6174657264ULL;  // "cmaterd"

TaskData load_cmaterdb_task(const std::string& name, const std::string& dir) {
  TaskData task;
  task.name = name;
  task.num_classes = 10;
  const ImageSet full = permuted(load_cmaterdb_split(join(dir, "training-images.npz"), task.num_classes),
                                 kCmaterdbOrderSeed);
  const int64_t n_validation = full.size * 20 / 100;
  task.validation = slice(full, 0, n_validation);
  task.train = slice(full, n_validation, full.size);
  task.test = load_cmaterdb_split(join(dir, "testing-images.npz"), task.num_classes);
  return task;
}

// One omniglot archive: labels (C, 20) in [0, C), images (C, 20, 105, 105) bool.
struct OmniglotFile {
  NpzArchive npz;
  std::vector<int32_t> labels;
  int64_t characters = 0;

  explicit OmniglotFile(const std::string& path) : npz(path) {
    const NpyArray array = npz.read("labels");
    const std::vector<int64_t>& shape = array.shape();
    if (shape.size() != 2 || shape[1] != kOmniglotDrawings)
      fail(array.where(), ": unexpected shape ", shape_string(shape), ", expected (C, ",
           kOmniglotDrawings, ")");
    characters = shape[0];
    labels = array.to_int32();
    check_labels(labels, array.where(), static_cast<int>(characters));
  }
};

// Where a character's drawings go: drawings [first, first + count) into split.
struct OmniglotPart {
  ImageSet* split;
  int first, count;
};

// Copies the file's drawings into the parts; True (white background) becomes 255 and labels
// are shifted by label_offset. `at` counts the characters already placed.
void place_omniglot(const OmniglotFile& file, int32_t label_offset, int64_t at,
                    const std::vector<OmniglotPart>& parts) {
  const NpyArray images = file.npz.read("images");
  const std::vector<int64_t>& shape = images.shape();
  if (shape.size() != 4 || shape[0] != file.characters || shape[1] != kOmniglotDrawings ||
      shape[2] != kOmniglotSide || shape[3] != kOmniglotSide)
    fail(images.where(), ": unexpected image shape ", shape_string(shape), ", expected (",
         file.characters, ", ", kOmniglotDrawings, ", ", kOmniglotSide, ", ", kOmniglotSide,
         ") to match the labels");
  if (images.type() != NpyType::kBool)
    fail(images.where(), ": unexpected dtype '", images.descr(), "', expected '|b1'");
  const int64_t pixels = int64_t(kOmniglotSide) * kOmniglotSide;
  for (int64_t c = 0; c < file.characters; ++c) {
    for (const OmniglotPart& part : parts) {
      for (int k = 0; k < part.count; ++k) {
        const int64_t drawing = c * kOmniglotDrawings + part.first + k;
        const int64_t slot = (at + c) * part.count + k;
        const uint8_t* src = images.data() + drawing * pixels;
        uint8_t* dst = part.split->pixels.data() + slot * pixels;
        for (int64_t p = 0; p < pixels; ++p) dst[p] = static_cast<uint8_t>(-(src[p] != 0));
        part.split->labels[slot] = file.labels[drawing] + label_offset;
      }
    }
  }
}

// Per character: drawings 0-13 train, 14-15 validation, 16-19 test.
TaskData load_omniglot(const std::string& dir) {
  TaskData task;
  task.name = "omniglot";
  task.num_classes = kOmniglotClasses;
  const OmniglotFile background(join(dir, "images_background.npz"));
  const OmniglotFile evaluation(join(dir, "images_evaluation.npz"));
  const int64_t characters = background.characters + evaluation.characters;
  if (characters != kOmniglotClasses)
    fail(dir, ": omniglot needs ", kOmniglotClasses, " characters, but ", background.npz.path(),
         " holds ", background.characters, " and ", evaluation.npz.path(), " holds ",
         evaluation.characters);
  const std::vector<OmniglotPart> parts = {
      {&task.train, 0, 14}, {&task.validation, 14, 2}, {&task.test, 16, 4}};
  for (const OmniglotPart& part : parts)
    *part.split = allocate(characters * part.count, kOmniglotSide, kOmniglotSide, 1);
  place_omniglot(background, 0, 0, parts);
  place_omniglot(evaluation, static_cast<int32_t>(background.characters), background.characters,
                 parts);
  return task;
}

std::string fashion_mnist_dir(const std::string& data_root) {
  const std::string local = join(data_root, "fashion_mnist");
  if (is_directory(local)) return local;
  if (is_directory(kFashionSystemDir)) return kFashionSystemDir;
  fail("fashion_mnist: data not found in ", local, " nor in ", kFashionSystemDir,
       " (install the Debian package dataset-fashion-mnist or copy the IDX files to ", local, ")");
}

// The running program's folder ("" where /proc does not say).
std::string executable_folder() {
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : exe.parent_path().string();
}

}  // namespace

std::vector<std::string> task_names() {
  return {"mnist", "fashion_mnist", "omniglot", "cmaterdb_bangla", "cmaterdb_devanagari"};
}

std::string data_root_above(const std::string& folder) {
  std::filesystem::path dir = std::filesystem::path(folder).lexically_normal();
  for (int level = 0; level < kDataSearchLevels; ++level) {
    const std::filesystem::path candidate = dir / "shared" / "datasets";
    if (is_directory(candidate.string())) return candidate.lexically_normal().string();
    if (!dir.has_parent_path() || dir.parent_path() == dir) break;
    dir = dir.parent_path();
  }
  return "";
}

std::string find_data_root(const std::string& explicit_root) {
  if (!explicit_root.empty()) {
    if (!is_directory(explicit_root)) fail("data root ", explicit_root, ": not a directory");
    return explicit_root;
  }
  const char* env = std::getenv("MUNET_DATA");
  if (env != nullptr && *env != '\0') {
    if (!is_directory(env)) fail("MUNET_DATA=", env, ": not a directory");
    return env;
  }
  const std::string exe_dir = executable_folder();
  if (!exe_dir.empty()) {
    const std::string found = data_root_above(exe_dir);
    if (!found.empty()) return found;
  }
  fail("no dataset directory found (no shared/datasets in ", exe_dir.empty() ? "the executable's folder" : exe_dir,
       " or the ", kDataSearchLevels - 1, " folders above it); set MUNET_DATA or pass --data to point at the datasets");
}

TaskData load_task(const std::string& name, const std::string& data_root) {
  TaskData task;
  std::string dir;
  if (name == "mnist") {
    dir = join(data_root, "mnist");
    task = load_idx_task(name, dir);
  } else if (name == "fashion_mnist") {
    dir = fashion_mnist_dir(data_root);
    task = load_idx_task(name, dir);
  } else if (name == "omniglot") {
    dir = join(data_root, "omniglot");
    task = load_omniglot(dir);
  } else if (name == "cmaterdb_bangla" || name == "cmaterdb_devanagari") {
    dir = join(data_root, name == "cmaterdb_bangla" ? "cmaterdb/bangla" : "cmaterdb/devanagari");
    task = load_cmaterdb_task(name, dir);
  } else {
    std::string valid;
    for (const std::string& t : task_names()) valid += (valid.empty() ? "" : ", ") + t;
    fail("unknown task '", name, "' (valid tasks: ", valid, ")");
  }
  task.class_names = numbered_class_names(task.num_classes);
  task.source = cat("built-in recipe ", name, " from ", dir);
  const TaskSplits splits = splits_of(task);
  check_task(task, splits, cat("task ", name, " (", dir, ")"), false);
  task.content_hash = task_content_hash(task, splits);
  check_builtin_hash(task, splits, dir);  // swapped, damaged or other files
  return task;
}

}  // namespace munet
