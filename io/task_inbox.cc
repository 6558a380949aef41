// Scanning the task inbox: complete files in name order, checked, the bad ones set aside.
#include "io/task_inbox.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>

#include "io/task_file.h"
#include "util/error.h"

namespace munet {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string move_in_inbox(const std::string& dir, const std::string& file, const std::string& sub) {
  const std::string folder = dir + "/" + sub, dest = folder + "/" + base_name(file);
  MUNET_CHECK(::mkdir(folder.c_str(), 0777) == 0 || errno == EEXIST, folder, ": cannot create folder");
  MUNET_CHECK(std::rename(file.c_str(), dest.c_str()) == 0, "cannot move ", file, " to ", dest);
  return dest;
}

InboxScan scan_inbox(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& known) {
  DIR* d = ::opendir(dir.c_str());
  MUNET_CHECK(d, dir, ": cannot open the task inbox (missing or not a folder)");
  std::vector<std::string> files;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name, path = dir + "/" + name;
    struct stat st {};
    if (ends_with(name, ".h5") && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(path);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  InboxScan scan;
  auto reject = [&](const std::string& file, const std::string& why) {
    try {
      const std::string moved = move_in_inbox(dir, file, "rejected");
      std::ofstream(moved + ".error") << why << "\n";
      scan.rejected.push_back(cat(file, ": ", why));
    } catch (const Error& e) {  // cannot set it aside: say so; the file stays and is tried again
      scan.rejected.push_back(cat(file, ": ", why, " (", e.what(), ")"));
    }
  };
  for (const std::string& file : files) {
    try {
      const TaskData task = read_task_file(file);  // every check, the content hash recomputed
      const auto same = std::find_if(known.begin(), known.end(), [&](const auto& k) { return k.first == task.name; });
      if (same != known.end() && same->second == task.content_hash) {
        scan.already.push_back(file);
        continue;
      }
      MUNET_CHECK(same == known.end(), "task '", task.name, "' is already in the run with other data (content hash ",
                  same->second, ", this file's is ", task.content_hash, "); pack it under another --name");
      for (const InboxTask& t : scan.taken)
        MUNET_CHECK(t.name != task.name, "task '", task.name, "' is also in ", t.file, ", taken first");
      scan.taken.push_back({file, task.name});
    } catch (const Error& e) {
      reject(file, e.what());
    }
  }
  return scan;
}

}  // namespace munet
