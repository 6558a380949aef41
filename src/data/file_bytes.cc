// read_file_bytes with errors that name the file and the operating system's reason.
#include "data/file_bytes.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "util/error.h"

namespace munet {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) fail(path, ": cannot open: ", std::strerror(errno));
  if (S_ISDIR(info.st_mode)) fail(path, ": cannot read: is a directory");
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail(path, ": cannot open: ", std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  const size_t got = std::fread(bytes.data(), 1, bytes.size(), file.get());
  if (got != bytes.size() || std::ferror(file.get()))
    fail(path, ": read error after ", got, " of ", bytes.size(), " bytes");
  return bytes;
}

}  // namespace munet
