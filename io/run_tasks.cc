// Task copies in a run folder, and the checks a resume makes of them.
#include "io/run_tasks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "io/task_entries.h"
#include "io/task_file.h"
#include "util/error.h"
#include "util/publish_file.h"

namespace munet {
namespace {

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

void make_dir(const std::string& dir) {
  MUNET_CHECK(::mkdir(dir.c_str(), 0777) == 0 || errno == EEXIST, dir, ": cannot create folder");
}

}  // namespace

std::string run_dir_of_checkpoint(const std::string& checkpoint) { return parent_of(parent_of(checkpoint)); }

std::string task_copy_name(const std::string& name) { return "tasks/" + name + ".h5"; }

std::string copy_task_into_run(const std::string& run_dir, const std::string& file, const std::string& name) {
  const std::string rel = task_copy_name(name), dest = run_dir + "/" + rel;
  const std::string hash = read_task_file_info(file).header.content_hash;
  if (::access(dest.c_str(), R_OK) == 0) {
    try {
      if (read_task_file_info(dest).header.content_hash == hash) return rel;
    } catch (const Error&) {  // a damaged leftover: replaced below
    }
  }
  make_dir(run_dir);
  make_dir(run_dir + "/tasks");
  const std::string tmp = temporary_name(dest);
  {
    std::ifstream in(file, std::ios::binary);
    MUNET_CHECK(in, file, ": cannot read task file to copy it into ", run_dir, "/tasks");
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MUNET_CHECK(out, tmp, ": cannot create the run's copy of task '", name, "'");
    out << in.rdbuf();
    out.flush();
    MUNET_CHECK(out, tmp, ": cannot write the run's copy of task '", name, "' (disk full?)");
  }
  publish_file(tmp, dest);
  return rel;
}

std::vector<TaskData> load_run_tasks(const EvolutionState& st, const std::string& run_dir,
                                     const std::string& data_option) {
  std::vector<std::string> entries, problems;
  for (const TaskSignature& t : st.tasks) {
    if (t.copy.empty()) {
      entries.push_back(t.file.empty() ? t.name : t.file);
      continue;
    }
    const std::string path = run_dir + "/" + t.copy;
    entries.push_back(path);
    const std::string origin = cat("stage ", t.stage + 1, ", joined from ", t.file.empty() ? "(unknown)" : t.file);
    if (::access(path.c_str(), R_OK) != 0) {
      problems.push_back(cat("task '", t.name, "': its copy ", path, " is missing (", origin,
                             "; the run recorded content hash ", t.content_hash, ")"));
      continue;
    }
    try {
      const TaskFileInfo info = read_task_file_info(path);
      if (info.header.name != t.name)
        problems.push_back(cat("task '", t.name, "': its copy ", path, " now holds task '", info.header.name, "' (",
                               origin, ")"));
      else if (info.header.content_hash != t.content_hash)
        problems.push_back(cat("task '", t.name, "': its copy ", path, " has content hash ", info.header.content_hash,
                               ", the run recorded ", t.content_hash, " (the file changed after it joined; ", origin,
                               ")"));
    } catch (const Error& e) {
      problems.push_back(cat("task '", t.name, "': its copy does not load: ", e.what()));
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const std::string& p : problems) all += "\n  " + p;
    fail("the run in ", run_dir, " cannot resume: its task copies differ from what it recorded (put the original "
         "files back; nothing was changed):", all);
  }
  std::vector<TaskData> tasks = load_task_entries(entries, data_option);
  for (size_t t = 0; t < tasks.size(); ++t) tasks[t].file = st.tasks[t].file;
  return tasks;
}

}  // namespace munet
