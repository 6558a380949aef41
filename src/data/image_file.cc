// libpng (classic API, with its transforms) and libjpeg decoding. Both libraries report errors by
// longjmp; everything that must survive one lives in a struct owned by the caller's frame, and
// C++ exceptions are thrown only after the library's call has returned.
#include "data/image_file.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include "util/error.h"

namespace munet {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File open_file(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, ": cannot open image (", std::strerror(errno), ")");
  return f;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// ---- PNG ----

struct PngState {
  char error[200] = "";
  DecodedImage image;
  std::vector<png_bytep> rows;
};

void png_error_fn(png_structp png, png_const_charp message) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(st->error, sizeof st->error, "%s", message);
  png_longjmp(png, 1);
}

void png_warning_fn(png_structp, png_const_charp) {}

// Returns false with st->error set when libpng fails.
bool decode_png(FILE* file, PngState* st) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, png_error_fn, png_warning_fn);
  if (png == nullptr) {
    std::snprintf(st->error, sizeof st->error, "cannot start libpng");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    std::snprintf(st->error, sizeof st->error, "cannot start libpng");
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  const png_byte color = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) == 16) png_set_scale_16(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  // A tRNS chunk (transparency for palette or single colours) is simply not expanded: dropped.
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  st->image.height = int(png_get_image_height(png, info));
  st->image.width = int(png_get_image_width(png, info));
  st->image.channels = int(png_get_channels(png, info));
  const size_t row_bytes = png_get_rowbytes(png, info);
  if (st->image.channels != 1 && st->image.channels != 3) {
    std::snprintf(st->error, sizeof st->error, "unexpected %d channels after conversion", st->image.channels);
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  st->image.pixels.resize(row_bytes * size_t(st->image.height));
  st->rows.resize(size_t(st->image.height));
  for (int y = 0; y < st->image.height; ++y) st->rows[y] = st->image.pixels.data() + size_t(y) * row_bytes;
  png_read_image(png, st->rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

// ---- JPEG ----

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Counts warnings (as libjpeg's own emit_message does) without printing them.
void jpeg_quiet(j_common_ptr cinfo, int level) {
  if (level < 0) ++cinfo->err->num_warnings;
}

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegError err;
  DecodedImage image;
  char error[JMSG_LENGTH_MAX + 64] = "";
};

bool decode_jpeg(FILE* file, JpegState* st) {
  st->cinfo.err = jpeg_std_error(&st->err.mgr);
  st->err.mgr.error_exit = jpeg_error_exit;
  st->err.mgr.emit_message = jpeg_quiet;
  if (setjmp(st->err.jump)) {
    std::snprintf(st->error, sizeof st->error, "%s", st->err.message);
    jpeg_destroy_decompress(&st->cinfo);
    return false;
  }
  jpeg_create_decompress(&st->cinfo);
  jpeg_stdio_src(&st->cinfo, file);
  jpeg_read_header(&st->cinfo, TRUE);
  const J_COLOR_SPACE space = st->cinfo.jpeg_color_space;
  if (space == JCS_CMYK || space == JCS_YCCK) {
    std::snprintf(st->error, sizeof st->error, "CMYK JPEG images are not supported (convert to RGB)");
    jpeg_destroy_decompress(&st->cinfo);
    return false;
  }
  st->cinfo.out_color_space = space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&st->cinfo);
  st->image.height = int(st->cinfo.output_height);
  st->image.width = int(st->cinfo.output_width);
  st->image.channels = st->cinfo.output_components;
  const size_t row_bytes = size_t(st->image.width) * size_t(st->image.channels);
  st->image.pixels.resize(row_bytes * size_t(st->image.height));
  while (st->cinfo.output_scanline < st->cinfo.output_height) {
    JSAMPROW row = st->image.pixels.data() + size_t(st->cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&st->cinfo, &row, 1);
  }
  // libjpeg substitutes grey for missing data and only warns; a truncated file is an error here.
  const long warnings = st->err.mgr.num_warnings;
  jpeg_finish_decompress(&st->cinfo);
  jpeg_destroy_decompress(&st->cinfo);
  if (warnings > 0) {
    std::snprintf(st->error, sizeof st->error, "corrupt or truncated JPEG data (%ld warnings from libjpeg)", warnings);
    return false;
  }
  return true;
}

}  // namespace

bool is_image_file_name(const std::string& name) {
  const std::string l = lower(name);
  return ends_with(l, ".png") || ends_with(l, ".jpg") || ends_with(l, ".jpeg");
}

DecodedImage read_png_file(const std::string& path) {
  File f = open_file(path);
  auto st = std::make_unique<PngState>();
  if (!decode_png(f.get(), st.get())) fail(path, ": unreadable or corrupt PNG (libpng: ", st->error, ")");
  return std::move(st->image);
}

DecodedImage read_jpeg_file(const std::string& path) {
  File f = open_file(path);
  auto st = std::make_unique<JpegState>();
  if (!decode_jpeg(f.get(), st.get())) fail(path, ": unreadable or corrupt JPEG (libjpeg: ", st->error, ")");
  return std::move(st->image);
}

DecodedImage read_image_file(const std::string& path) {
  return ends_with(lower(path), ".png") ? read_png_file(path) : read_jpeg_file(path);
}

void grey_to_rgb(DecodedImage& image) {
  if (image.channels == 3) return;
  std::vector<uint8_t> rgb(image.pixels.size() * 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) std::fill_n(rgb.begin() + 3 * i, 3, image.pixels[i]);
  image.pixels = std::move(rgb);
  image.channels = 3;
}

}  // namespace munet
