// PNG and JPEG files for the task-packing tests, written with libpng and libjpeg (the encoders,
// not the decoders under test).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet::test {

// color_type: PNG_COLOR_TYPE_GRAY (0), _RGB (2), _PALETTE (3), _GRAY_ALPHA (4), _RGBA (6).
// `samples` holds height * width * channels values (palette: indices into `palette`, RGB
// triples), each < 2^bit_depth; 16-bit samples are written big-endian as PNG wants.
void write_png(const std::string& path, int width, int height, int color_type, int bit_depth,
               const std::vector<uint16_t>& samples, const std::vector<uint8_t>& palette = {});

// channels 1 (grey) or 3 (RGB), quality 0-100.
void write_jpeg(const std::string& path, int width, int height, int channels, const std::vector<uint8_t>& pixels,
                int quality = 95);

}  // namespace munet::test
