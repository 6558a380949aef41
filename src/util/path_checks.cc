// stat-based identity and writability checks for command paths.
#include "util/path_checks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace munet {
namespace {

std::string parent_of(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
}

std::string errno_text(int e) { return cat(std::strerror(e), " (", e == EACCES ? "EACCES" : e == ENOSPC ? "ENOSPC"
                                                                  : e == EROFS ? "EROFS" : e == EDQUOT ? "EDQUOT"
                                                                  : e == ENOENT ? "ENOENT" : e == ENOTDIR ? "ENOTDIR"
                                                                  : "errno " + std::to_string(e), ")"); }

// The parent must be an existing folder this process can create files in.
void check_parent(const std::string& what, const std::string& path, const std::string& parent) {
  struct stat st;
  if (::stat(parent.c_str(), &st) != 0)
    fail(what, " ", path, ": its folder ", parent, " does not exist or cannot be reached: ", errno_text(errno));
  MUNET_CHECK(S_ISDIR(st.st_mode), what, " ", path, ": ", parent, " is a file where a folder is needed");
  // A probe file shows read-only mounts, ACLs and a full disk, which access(W_OK) does not all see.
  const std::string probe = cat(parent, "/.munet-write-probe.", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) fail(what, " ", path, ": cannot create files in ", parent, ": ", errno_text(errno));
  const bool wrote = ::write(fd, "x", 1) == 1;
  const int write_errno = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!wrote) fail(what, " ", path, ": cannot write in ", parent, ": ", errno_text(write_errno));
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (a.empty() || b.empty() || ::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void refuse_output_is_input(const std::string& what, const std::string& output,
                            const std::vector<std::pair<std::string, std::string>>& inputs) {
  for (const auto& [option, path] : inputs)
    MUNET_CHECK(!same_file(output, path), what, " ", output, " is the same file as ", option, " ", path,
                ": writing it would destroy the input; choose another ", what);
}

void check_file_writable(const std::string& what, const std::string& path) {
  MUNET_CHECK(!path.empty(), what, " is empty");
  MUNET_CHECK(path.back() != '/', what, " ", path, " names a folder; a file name is needed");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    MUNET_CHECK(!S_ISDIR(st.st_mode), what, " ", path, " is a directory; a file name is needed");
    MUNET_CHECK(S_ISREG(st.st_mode), what, " ", path, " exists and is not a regular file");
  } else if (errno == ENOTDIR) {
    fail(what, " ", path, ": a file on the way is where a folder is needed (ENOTDIR)");
  }
  check_parent(what, path, parent_of(path));
}

void check_folder_writable(const std::string& what, const std::string& path) {
  MUNET_CHECK(!path.empty(), what, " is empty");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOTDIR) fail(what, " ", path, ": a file on the way is where a folder is needed (ENOTDIR)");
    // It will be created with its missing parents: the nearest existing folder must take them.
    std::string ancestor = parent_of(path);
    while (::stat(ancestor.c_str(), &st) != 0 && ancestor != "/" && ancestor != ".") ancestor = parent_of(ancestor);
    check_parent(what, path, ancestor);
    return;
  }
  MUNET_CHECK(S_ISDIR(st.st_mode), what, " ", path, " is a file where a folder is needed");
  check_parent(what, path + "/x", path);
}

}  // namespace munet
