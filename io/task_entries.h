// What `--tasks` (munet evolve) and `--task` (munet train, munet predict) accept: built-in task
// names and task files, mixed. An entry is a task file when it contains '/' or ends in ".h5";
// built-in recipes read their raw files from the dataset folder (--data, $MUNET_DATA, or the
// default of find_data_root), which is looked for only when a built-in task is named.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace munet {

bool is_task_file_entry(const std::string& entry);

// One entry's task: read_task_file or load_task(entry, find_data_root(data_option)).
TaskData load_task_entry(const std::string& entry, const std::string& data_option);

// Every entry's task, in order. Refuses an empty list and two entries that name the same task
// (the same built-in twice, or files whose tasks share a name), naming both entries; task files'
// names are read (attributes only) before any data is.
std::vector<TaskData> load_task_entries(const std::vector<std::string>& entries, const std::string& data_option);

}  // namespace munet
