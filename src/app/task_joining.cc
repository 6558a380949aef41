// Joining tasks: rank 0 chooses and copies, every rank loads the copies and adds the stage.
#include "app/task_joining.h"

#include <cstdio>
#include <sstream>

#include "io/run_tasks.h"
#include "io/task_entries.h"
#include "io/task_file.h"
#include "io/task_inbox.h"

namespace munet::app {
namespace {

// One joining task as rank 0 broadcasts it: name, where it came from (empty: a built-in), its
// copy in the run folder (empty: a built-in).
struct Joining {
  std::string name, file, copy;
};

std::string encode(const std::vector<Joining>& js) {
  std::string s;
  for (const Joining& j : js) s += j.name + '\t' + j.file + '\t' + j.copy + '\n';
  return s;
}

std::vector<Joining> decode(const std::string& s) {
  std::vector<Joining> out;
  std::stringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    Joining j;
    std::stringstream fields(line);
    std::getline(fields, j.name, '\t');
    std::getline(fields, j.file, '\t');
    std::getline(fields, j.copy, '\t');
    out.push_back(j);
  }
  return out;
}

// Every rank: loads the tasks (task files from their copies) and adds them as one stage.
void add_stage(Evolution& evo, const std::vector<Joining>& js, const std::string& run_dir,
               const std::string& data_option) {
  std::vector<std::string> entries, copies;
  for (const Joining& j : js) {
    entries.push_back(j.copy.empty() ? j.name : run_dir + "/" + j.copy);
    copies.push_back(j.copy);
  }
  std::vector<TaskData> tasks = load_task_entries(entries, data_option);
  for (size_t i = 0; i < tasks.size(); ++i) tasks[i].file = js[i].file;
  evo.add_stage(std::move(tasks), copies);
  for (const Joining& j : js)
    std::printf("  stage %d: task %s%s%s\n", evo.stages(), j.name.c_str(), j.file.empty() ? " (built-in)" : " from ",
                j.file.empty() ? "" : (j.file + ", copied to " + run_dir + "/" + j.copy).c_str());
  std::fflush(stdout);
}

}  // namespace

void record_task_copies(Evolution& evo, const std::string& run_dir, Communicator& comm) {
  const std::vector<TaskSignature> tasks = evo.state().tasks;
  for (size_t t = 0; t < tasks.size(); ++t) {
    if (tasks[t].file.empty()) continue;
    const std::string copy = comm.rank() == 0 ? copy_task_into_run(run_dir, tasks[t].file, tasks[t].name)
                                              : task_copy_name(tasks[t].name);
    evo.set_task_copy(int(t), copy);
  }
}

bool add_task_stage(Evolution& evo, const std::vector<std::string>& entries, const std::string& run_dir,
                    const std::string& data_option, Communicator& comm) {
  std::string message;
  if (comm.rank() == 0) {
    std::vector<Joining> js;
    std::vector<std::string> present, fresh;
    for (const std::string& entry : entries) {
      Joining j;
      std::string hash;
      if (is_task_file_entry(entry)) {
        const TaskFileInfo info = read_task_file_info(entry);
        j.name = info.header.name;
        j.file = entry;
        hash = info.header.content_hash;
      } else {
        j.name = entry;
      }
      bool in_run = false;
      for (const TaskSignature& t : evo.state().tasks)
        if (t.name == j.name) {
          MUNET_CHECK(hash.empty() || t.content_hash.empty() || hash == t.content_hash, "--add-tasks: task '", j.name,
                      "' of ", entry, " is already in the run (stage ", t.stage + 1, ") with other data (content hash ",
                      t.content_hash, ", the file's is ", hash, "); pack it under another --name");
          in_run = true;
        }
      (in_run ? present : fresh).push_back(j.name);
      js.push_back(j);
    }
    if (!present.empty() && !fresh.empty()) {
      std::string p, f;
      for (const auto& n : present) p += (p.empty() ? "" : ", ") + n;
      for (const auto& n : fresh) f += (f.empty() ? "" : ", ") + n;
      fail("--add-tasks: ", p, " already joined the run, ", f, " did not; list only new tasks for a new stage");
    }
    if (present.empty()) {
      for (Joining& j : js)
        if (!j.file.empty()) j.copy = copy_task_into_run(run_dir, j.file, j.name);
      message = encode(js);
    }
  }
  comm.broadcast(message, 0);
  if (message.empty()) {
    std::printf("--add-tasks: every task listed already joined the run; nothing to add\n");
    return false;
  }
  add_stage(evo, decode(message), run_dir, data_option);
  return true;
}

InboxJoin join_from_inbox(Evolution& evo, const std::string& inbox, const std::string& run_dir,
                          const std::string& data_option, Communicator& comm) {
  InboxJoin join;
  std::string message, files;
  if (comm.rank() == 0) {
    std::vector<std::pair<std::string, std::string>> known;
    for (const TaskSignature& t : evo.state().tasks) known.emplace_back(t.name, t.content_hash);
    InboxScan scan;
    try {
      scan = scan_inbox(inbox, known);
    } catch (const Error& e) {  // the folder went away (a file system hiccup): the run carries on
      std::printf("task inbox: %s; looking again at the next turn\n", e.what());
    }
    for (const std::string& r : scan.rejected) std::printf("task inbox: rejected %s\n", r.c_str());
    for (const std::string& f : scan.already) {
      std::printf("task inbox: %s already joined the run; moved to joined/\n", f.c_str());
      move_in_inbox(inbox, f, "joined");
    }
    std::vector<Joining> js;
    for (const InboxTask& t : scan.taken) {
      const std::string base = t.file.substr(t.file.find_last_of('/') + 1);
      js.push_back({t.name, inbox + "/joined/" + base, copy_task_into_run(run_dir, t.file, t.name)});
      join.files.push_back(t.file);
    }
    message = encode(js);
    std::fflush(stdout);
  }
  comm.broadcast(message, 0);
  if (message.empty()) return join;
  const std::vector<Joining> js = decode(message);
  join.tasks = int(js.size());
  add_stage(evo, js, run_dir, data_option);
  return join;
}

void finish_inbox_join(const InboxJoin& join, const std::string& inbox, Communicator& comm) {
  if (comm.rank() != 0) return;
  for (const std::string& f : join.files) move_in_inbox(inbox, f, "joined");
}

}  // namespace munet::app
