// libpng / libjpeg encoding for tests; failures abort the test binary with a message.
#include "support/image_writers.h"

#include <jpeglib.h>
#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace munet::test {
namespace {

FILE* open_for_writing(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
  return f;
}

int png_channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
  }
}

}  // namespace

void write_png(const std::string& path, int width, int height, int color_type, int bit_depth,
               const std::vector<uint16_t>& samples, const std::vector<uint8_t>& palette) {
  FILE* f = open_for_writing(path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    std::fprintf(stderr, "libpng failed writing %s\n", path.c_str());
    std::abort();
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> colours;
  for (size_t i = 0; i + 2 < palette.size(); i += 3) colours.push_back({palette[i], palette[i + 1], palette[i + 2]});
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, colours.data(), int(colours.size()));
  png_write_info(png, info);
  if (bit_depth < 8) png_set_packing(png);
  const int channels = png_channels(color_type);
  const size_t row_samples = size_t(width) * channels;
  std::vector<uint8_t> row(row_samples * (bit_depth == 16 ? 2 : 1));
  for (int y = 0; y < height; ++y) {
    for (size_t i = 0; i < row_samples; ++i) {
      const uint16_t v = samples[size_t(y) * row_samples + i];
      if (bit_depth == 16) {
        row[2 * i] = uint8_t(v >> 8);
        row[2 * i + 1] = uint8_t(v);
      } else {
        row[i] = uint8_t(v);
      }
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

void write_jpeg(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels,
                int quality) {
  FILE* f = open_for_writing(path);
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = JDIMENSION(width);
  cinfo.image_height = JDIMENSION(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + size_t(cinfo.next_scanline) * width * channels;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
}

}  // namespace munet::test
