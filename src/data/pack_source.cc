// Reading a pack source (folder, .npz, IDX pair) into one image set; the fixed shuffle.
#include "data/pack_source.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/idx_reader.h"
#include "data/image_file.h"
#include "data/npz_reader.h"
#include "util/error.h"
#include "util/rng.h"

namespace munet {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool hidden(const fs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

// Entries of a folder, byte-sorted.
std::vector<fs::path> sorted_entries(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) out.push_back(it->path());
  if (error) fail(dir, ": cannot list folder (", error.message(), ")");
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
  return out;
}

void check_labels_not_negative(const std::vector<int32_t>& labels, const std::string& where) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0) fail(where, ": label ", labels[i], " at index ", i, " is negative (labels are 0, 1, ...)");
}

int classes_from_labels(const std::vector<int32_t>& labels) {
  int32_t top = -1;
  for (int32_t l : labels) top = std::max(top, l);
  return top + 1;
}

PackSource read_folder(const std::string& dir, const PackOptions& options) {
  struct Item {
    std::string path;
    int label;
  };
  PackSource out;
  std::vector<Item> items;
  int skipped = 0;
  for (const fs::path& entry : sorted_entries(dir)) {
    if (hidden(entry)) continue;
    if (!fs::is_directory(entry)) {
      MUNET_CHECK(!is_image_file_name(entry.string()), dir, ": ", entry.filename().string(),
                  " lies directly in the folder; put each class's images in a subfolder named for the class");
      ++skipped;
      continue;
    }
    const int label = int(out.class_names.size());
    size_t before = items.size();
    for (const fs::path& file : sorted_entries(entry.string())) {
      if (hidden(file)) continue;
      if (fs::is_regular_file(file) && is_image_file_name(file.string()))
        items.push_back({file.string(), label});
      else
        ++skipped;
    }
    MUNET_CHECK(items.size() > before, entry.string(), ": class folder holds no PNG or JPEG files");
    out.class_names.push_back(entry.filename().string());
  }
  MUNET_CHECK(!out.class_names.empty(), dir,
              ": empty folder: no class subfolders with PNG or JPEG images (expected DIR/<class>/<image>.png)");
  out.num_classes = int(out.class_names.size());

  // Decode everything, then settle one shape: grey only if every image is grey.
  std::vector<DecodedImage> images(items.size());
  bool colour = false;
  for (size_t i = 0; i < items.size(); ++i) {
    images[i] = read_image_file(items[i].path);
    colour |= images[i].channels == 3;
    if (options.size > 0) {
      images[i].pixels = resize_bilinear(images[i].pixels, images[i].height, images[i].width, images[i].channels,
                                         options.size, options.size);
      images[i].height = images[i].width = options.size;
    } else if (images[i].height != images[0].height || images[i].width != images[0].width) {
      fail(dir, ": images of different sizes: ", items[0].path, " is ", images[0].width, "x", images[0].height, ", ",
           items[i].path, " is ", images[i].width, "x", images[i].height,
           " (width x height); pass --size S to resize every image to S x S");
    }
  }
  ImageSet& set = out.examples;
  set.size = int64_t(items.size());
  set.height = images[0].height;
  set.width = images[0].width;
  set.channels = colour ? 3 : 1;
  set.pixels.resize(size_t(set.size * set.image_bytes()));
  for (size_t i = 0; i < items.size(); ++i) {
    if (colour) grey_to_rgb(images[i]);
    std::copy(images[i].pixels.begin(), images[i].pixels.end(), set.pixels.begin() + int64_t(i) * set.image_bytes());
    images[i] = DecodedImage();  // freed as soon as it is placed
    set.labels.push_back(items[i].label);
  }
  out.description = cat("image folder ", fs::absolute(dir).lexically_normal().string(), " (", out.num_classes,
                        " classes, ", set.size, " images", skipped ? cat(", ", skipped, " other files skipped") : "",
                        ")");
  return out;
}

PackSource read_npz(const std::string& path, const PackOptions& options) {
  const NpzArchive npz(path);
  const NpyArray images = npz.read(options.images_key);
  const NpyArray labels = npz.read(options.labels_key);
  const std::vector<int64_t>& shape = images.shape();
  MUNET_CHECK((shape.size() == 3 || shape.size() == 4) && (shape.size() == 3 || shape[3] == 1 || shape[3] == 3 ||
                                                           shape[3] == 4),
              images.where(), ": shape ", shape_string(shape),
              ", expected (N, H, W) or (N, H, W, C) with C = 1, 3 or 4");
  MUNET_CHECK(labels.shape().size() == 1, labels.where(), ": shape ", shape_string(labels.shape()), ", expected (N,)");
  PackSource out;
  ImageSet& set = out.examples;
  set.size = shape[0];
  set.height = int(shape[1]);
  set.width = int(shape[2]);
  const int stored = shape.size() == 4 ? int(shape[3]) : 1;
  set.channels = stored == 4 ? 3 : stored;
  set.pixels = images.to_uint8();
  if (images.type() == NpyType::kBool)
    for (uint8_t& p : set.pixels) p = uint8_t(p ? 255 : 0);
  if (stored == 4) {  // RGBA: alpha dropped, in place
    const int64_t pixels = set.size * set.height * set.width;
    for (int64_t i = 0; i < pixels; ++i)
      for (int c = 0; c < 3; ++c) set.pixels[size_t(3 * i + c)] = set.pixels[size_t(4 * i + c)];
    set.pixels.resize(size_t(3 * pixels));
    set.pixels.shrink_to_fit();
  }
  set.labels = labels.to_int32();
  MUNET_CHECK(int64_t(set.labels.size()) == set.size, path, ": ", set.size, " images in '", options.images_key,
              "' but ", set.labels.size(), " labels in '", options.labels_key, "'");
  check_labels_not_negative(set.labels, labels.where());
  out.num_classes = classes_from_labels(set.labels);
  out.description = cat("NumPy archive ", fs::absolute(path).lexically_normal().string(), " (arrays '",
                        options.images_key, "', '", options.labels_key, "')");
  return out;
}

PackSource read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  PackSource out;
  out.examples = read_idx_images(images_path);
  out.examples.labels = read_idx_labels(labels_path);
  MUNET_CHECK(int64_t(out.examples.labels.size()) == out.examples.size, "image/label count mismatch: ", images_path,
              " holds ", out.examples.size, " images but ", labels_path, " holds ", out.examples.labels.size(),
              " labels");
  out.num_classes = classes_from_labels(out.examples.labels);
  out.description = cat("IDX files ", fs::absolute(images_path).lexically_normal().string(), ", ",
                        fs::absolute(labels_path).lexically_normal().string());
  return out;
}

bool is_directory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

}  // namespace

PackSource read_pack_source(const std::string& source, const PackOptions& options) {
  MUNET_CHECK(!source.empty(), "no SOURCE given");
  if (is_directory(source)) return read_folder(source, options);
  if (ends_with(source, ".npz")) return read_npz(source, options);
  const size_t comma = source.find(',');
  if (comma != std::string::npos) return read_idx_pair(source.substr(0, comma), source.substr(comma + 1));
  const size_t at = source.rfind("images-idx3");
  MUNET_CHECK(at != std::string::npos && fs::exists(source), source,
              ": not a folder, an .npz file or an IDX images file (an IDX pair is given as IMAGES,LABELS, or as "
              "the images file when its labels file is named like it with labels-idx1 for images-idx3)");
  std::string labels = source;
  labels.replace(at, 11, "labels-idx1");
  return read_idx_pair(source, labels);
}

std::vector<int64_t> pack_order(int64_t n, const std::string& name) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  Rng(XXH3_64bits(name.data(), name.size())).shuffle(order);
  return order;
}

void permute_in_place(ImageSet& set, const std::vector<int64_t>& order) {
  const int64_t bytes = set.image_bytes();
  std::vector<bool> done(order.size(), false);
  std::vector<uint8_t> scratch(static_cast<size_t>(bytes));
  for (size_t start = 0; start < order.size(); ++start) {
    if (done[start]) continue;
    // Follow the cycle start <- order[start] <- order[order[start]] ... back to start.
    std::copy_n(set.image(int64_t(start)), bytes, scratch.begin());
    const int32_t first_label = set.labels[start];
    size_t at = start;
    while (true) {
      done[at] = true;
      const size_t from = size_t(order[at]);
      if (from == start) {
        std::copy(scratch.begin(), scratch.end(), set.pixels.begin() + int64_t(at) * bytes);
        set.labels[at] = first_label;
        break;
      }
      std::copy_n(set.image(int64_t(from)), bytes, set.pixels.begin() + int64_t(at) * bytes);
      set.labels[at] = set.labels[from];
      at = from;
    }
  }
}

std::vector<uint8_t> resize_bilinear(const std::vector<uint8_t>& pixels, int height, int width, int channels,
                                     int out_height, int out_width) {
  std::vector<uint8_t> out(size_t(out_height) * out_width * channels);
  auto source = [](int i, int in, int out_n, int* lo, int* hi, float* frac) {
    const float x = std::clamp((i + 0.5f) * float(in) / float(out_n) - 0.5f, 0.0f, float(in - 1));
    *lo = int(x);
    *hi = std::min(*lo + 1, in - 1);
    *frac = x - float(*lo);
  };
  for (int y = 0; y < out_height; ++y) {
    int y0, y1;
    float fy;
    source(y, height, out_height, &y0, &y1, &fy);
    for (int x = 0; x < out_width; ++x) {
      int x0, x1;
      float fx;
      source(x, width, out_width, &x0, &x1, &fx);
      for (int c = 0; c < channels; ++c) {
        auto at = [&](int yy, int xx) { return float(pixels[(size_t(yy) * width + xx) * channels + c]); };
        const float top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
        const float bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
        out[(size_t(y) * out_width + x) * channels + c] = uint8_t(std::lround(top + (bottom - top) * fy));
      }
    }
  }
  return out;
}

}  // namespace munet
