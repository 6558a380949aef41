// statvfs-based free-space checks.
#include "util/disk_space.h"

#include <sys/statvfs.h>

#include <cstdio>

#include "util/error.h"

namespace munet {
namespace {

std::string existing_folder_of(std::string path) {
  struct statvfs s;
  for (;;) {
    const size_t slash = path.find_last_of('/');
    path = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    if (path == "." || path == "/" || ::statvfs(path.c_str(), &s) == 0) return path;
  }
}

std::string megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
  return buf;
}

}  // namespace

int64_t free_bytes(const std::string& path) {
  struct statvfs s;
  if (::statvfs(existing_folder_of(path).c_str(), &s) != 0) return -1;
  return int64_t(s.f_bavail) * int64_t(s.f_frsize);
}

void require_free_space(const std::string& file, int64_t bytes) {
  const int64_t free = free_bytes(file);
  MUNET_CHECK(free < 0 || free >= bytes, "no space left on device for ", file, ": it needs about ", megabytes(bytes),
              ", ", megabytes(free), " are free in ", existing_folder_of(file));
}

}  // namespace munet
