// HDF5 handle checks.
#include "io/hdf5_handles.h"

#include <cerrno>
#include <cstring>

namespace munet::h5 {
namespace {

// The operating-system error behind the HDF5 failure just reported, as its file driver recorded
// it ("..., errno = 28, error message = 'No space left on device', ..."), or "".
std::string system_error() {
  std::string found;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        auto& text = *static_cast<std::string*>(out);
        const char* at = e->desc ? std::strstr(e->desc, "error message = '") : nullptr;
        if (at && text.empty()) {
          at += std::strlen("error message = '");
          const char* end = std::strchr(at, '\'');
          text.assign(at, end ? size_t(end - at) : std::strlen(at));
        }
        return 0;
      },
      &found);
  return found;
}

[[noreturn]] void fail_with_cause(const std::string& path, const std::string& what) {
  const std::string cause = system_error();
  if (cause == std::strerror(ENOSPC) || cause == std::strerror(EDQUOT))
    fail("no space left on device writing ", path, " (", cause, ", ", what, ")");
  fail(path, ": ", what, cause.empty() ? "" : " (" + cause + ")");
}

}  // namespace

void no_close_at_exit() { H5dont_atexit(); }

void quiet_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle check(hid_t id, herr_t (*close)(hid_t), const std::string& path, const std::string& what) {
  if (id < 0) fail_with_cause(path, what);
  return Handle(id, close);
}

void check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) fail_with_cause(path, what);
}

}  // namespace munet::h5
