// NumPy .npz archives: named .npy arrays inside a zip file (np.savez / np.savez_compressed).
#pragma once
#include <string>
#include <vector>

#include "data/npy_array.h"
#include "data/zip_archive.h"

namespace munet {

class NpzArchive {
 public:
  // Opens the archive and reads its directory; errors as for ZipArchive.
  explicit NpzArchive(std::string path);

  const std::string& path() const { return zip_.path(); }
  // Array names, i.e. member names without the ".npy" suffix, in archive order.
  std::vector<std::string> names() const;
  bool has(const std::string& array) const;
  // Extracts and parses one array. Throws munet::Error naming the path and the array when
  // it is missing (listing the arrays present), corrupt, or of an unsupported dtype.
  NpyArray read(const std::string& array) const;

 private:
  ZipArchive zip_;
};

}  // namespace munet
