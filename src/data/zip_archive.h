// Member access for zip archives (NumPy's .npz is a zip of .npy files). Parses the central
// directory, including zip64 records, and extracts stored or deflated members with a CRC check.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace munet {

class ZipArchive {
 public:
  // Reads the archive and its central directory. Throws munet::Error naming the path if the
  // file is missing, is not a zip archive, is truncated or has a corrupt directory.
  explicit ZipArchive(std::string path);

  const std::string& path() const { return path_; }
  // Member names in directory order.
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  // The member's uncompressed bytes. Throws munet::Error naming the path and member for a
  // missing member, an unsupported compression method or encryption, corrupt deflate data,
  // a size mismatch or a bad CRC-32.
  std::vector<uint8_t> read(const std::string& name) const;

 private:
  struct Entry {
    std::string name;
    uint16_t flags = 0, method = 0;
    uint32_t crc = 0;
    uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
  };
  void parse_directory();
  const Entry& entry(const std::string& name) const;
  const uint8_t* member_data(const Entry& e) const;

  std::string path_;
  std::vector<uint8_t> bytes_;
  std::vector<Entry> entries_;
};

}  // namespace munet
