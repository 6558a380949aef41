// fsync + rename + folder fsync.
#include "util/publish_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "util/error.h"

namespace munet {
namespace {

void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  MUNET_CHECK(fd >= 0, path, ": cannot open to sync");
  const int rc = ::fsync(fd);
  ::close(fd);
  MUNET_CHECK(rc == 0, path, ": fsync failed");
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace

std::string temporary_name(const std::string& path) { return cat(path, ".tmp.", ::getpid()); }

void publish_file(const std::string& tmp, const std::string& path) {
  sync_path(tmp);
  MUNET_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename ", tmp, " to ", path);
  sync_path(parent_dir(path));
}

}  // namespace munet
