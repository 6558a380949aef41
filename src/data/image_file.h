// PNG and JPEG files decoded to 8-bit grey or RGB (Debian's libpng and libjpeg-turbo; munet has no
// decoder of its own). The colour rules of `munet task pack`: grey stays 1 channel (grey+alpha
// loses its alpha), RGB stays 3, RGBA and palette images become RGB with the alpha dropped (not
// blended), 16-bit samples are scaled to 8 bits (v * 255 / 65535, rounded), 1/2/4-bit grey is
// scaled up to 0..255; JPEG grey is 1 channel, YCbCr/RGB 3 (CMYK is refused).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

struct DecodedImage {
  int height = 0, width = 0, channels = 0;  // channels: 1 or 3
  std::vector<uint8_t> pixels;              // height * width * channels, row-major HWC
};

// Whether a file name ends in .png, .jpg or .jpeg (any case): what an image folder holds.
bool is_image_file_name(const std::string& name);

// Decodes by extension. Throws munet::Error naming the file and libpng's or libjpeg's reason for
// a missing, unreadable, truncated or corrupt file.
DecodedImage read_image_file(const std::string& path);
DecodedImage read_png_file(const std::string& path);
DecodedImage read_jpeg_file(const std::string& path);

// Grey to RGB by repeating the sample (a folder mixing grey and colour becomes RGB).
void grey_to_rgb(DecodedImage& image);

}  // namespace munet
