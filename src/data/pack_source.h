// What `munet task pack` reads: an image folder (one subfolder per class), a NumPy .npz with an
// images and a labels array, or an IDX pair (MNIST layout, gzipped or not), all turned into one
// uint8 image set with labels, plus class names and a description of where it came from.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace munet {

struct PackOptions {
  std::string images_key = "images", labels_key = "labels";  // .npz array names
  int size = 0;  // image folders: resize every image to size x size (bilinear); 0: sizes must agree
};

struct PackSource {
  ImageSet examples;                     // every example; labels >= 0
  std::vector<std::string> class_names;  // image folders: the subfolder names; else empty
  int num_classes = 0;                   // folders: subfolders; else the largest label + 1
  std::string description;               // e.g. "image folder /data/flowers (5 classes, 3670 images)"
};

// Reads SOURCE: a folder; a file ending in .npz; an IDX images file (its labels beside it, named
// with labels-idx1 for images-idx3) or "IMAGES,LABELS". Throws munet::Error naming the source
// or file: an empty folder or class folder, images at the top of the folder, a corrupt or
// unreadable image, images of different sizes without --size (naming two), an .npz without the
// named arrays, mismatched counts, a negative label.
PackSource read_pack_source(const std::string& source, const PackOptions& options);

// The fixed shuffle of `munet task pack`: 0..n-1 shuffled by Fisher-Yates (i from n-1 down to 1,
// swap with below(i + 1)) with munet's Rng (xoshiro256**, seeded through splitmix64) seeded by
// XXH3-64 of the task name (seed 0): the same order on every machine.
std::vector<int64_t> pack_order(int64_t n, const std::string& name);

// Reorders the set's images and labels so that example i becomes the old example order[i],
// in place (one image of scratch memory).
void permute_in_place(ImageSet& set, const std::vector<int64_t>& order);

// Bilinear resize (pixel centres aligned, edges clamped) of one HWC image.
std::vector<uint8_t> resize_bilinear(const std::vector<uint8_t>& pixels, int height, int width, int channels,
                                     int out_height, int out_width);

}  // namespace munet
