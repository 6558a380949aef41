// Free-space check, then the write; on failure the partial file goes.
#include "app/safe_write.h"

#include <cstdio>

#include "util/disk_space.h"
#include "util/error.h"

namespace munet::app {

void write_or_explain(const std::string& file, const std::string& partial, int64_t bytes, bool check_here,
                      const std::function<void()>& write, const std::string& intact) {
  try {
    if (check_here) require_free_space(file, bytes);
    write();
  } catch (const Error& e) {
    const bool removed = check_here && std::remove(partial.c_str()) == 0;
    fail(e.what(), removed ? "; removed the partial file " + partial : std::string(), "; ", intact);
  }
}

}  // namespace munet::app
