// Built-in names or task files, and the duplicate check across a task list.
#include "io/task_entries.h"

#include <map>

#include "data/tasks.h"
#include "io/task_file.h"
#include "util/error.h"

namespace munet {

bool is_task_file_entry(const std::string& entry) {
  return entry.find('/') != std::string::npos ||
         (entry.size() >= 3 && entry.compare(entry.size() - 3, 3, ".h5") == 0);
}

TaskData load_task_entry(const std::string& entry, const std::string& data_option) {
  if (is_task_file_entry(entry)) return read_task_file(entry);
  return load_task(entry, find_data_root(data_option));
}

std::vector<TaskData> load_task_entries(const std::vector<std::string>& entries, const std::string& data_option) {
  MUNET_CHECK(!entries.empty(), "the task list is empty");
  std::map<std::string, std::string> seen;  // task name -> the entry that gave it
  for (const std::string& entry : entries) {
    const std::string name = is_task_file_entry(entry) ? read_task_file_info(entry).header.name : entry;
    const auto [it, fresh] = seen.emplace(name, entry);
    MUNET_CHECK(fresh, "duplicate task '", name, "' in the task list: given by ", it->second,
                it->second == entry ? " twice" : cat(" and by ", entry),
                " (each task may appear once; pack a copy under another --name to use both)");
  }
  std::string root;  // found once, only if a built-in task needs it
  std::vector<TaskData> tasks;
  for (const std::string& entry : entries) {
    if (is_task_file_entry(entry)) {
      tasks.push_back(read_task_file(entry));
    } else {
      if (root.empty()) root = find_data_root(data_option);
      tasks.push_back(load_task(entry, root));
    }
  }
  return tasks;
}

}  // namespace munet
