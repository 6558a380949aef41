// A run's own copies of its task files. Every task file that joins a run with --output (its first
// --tasks, --add-tasks, the inbox) is copied to RUN/tasks/<name>.h5, and the checkpoint records
// that copy (relative to the run folder) beside the task's content hash. A resume loads the copy,
// never the path the task came from (nodes see other file systems; an inbox file moves on), and
// refuses a copy that is missing or whose content hash is not the recorded one, naming the task,
// the file and what differs, before it writes anything. Built-in tasks are not copied: their
// name loads them again from the dataset folder, and their content hash is checked as before.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "evo/evolution.h"

namespace munet {

// The run folder of a checkpoint: RUN for RUN/checkpoints/ckpt-N.h5.
std::string run_dir_of_checkpoint(const std::string& checkpoint);

// Where a task named `name` is copied: "tasks/<name>.h5", relative to the run folder.
std::string task_copy_name(const std::string& name);

// Copies the task file `file` (its task named `name`) into `run_dir` (crash-safely: a temporary
// name, then renamed); keeps a copy already there with the same content hash. Returns
// task_copy_name(name).
std::string copy_task_into_run(const std::string& run_dir, const std::string& file, const std::string& name);

// Every task of the state, in order: a recorded copy from `run_dir` (checked against the
// recorded content hash first, for every task, so a refusal names each problem before any data
// is read), else the recorded task file, else the built-in recipe. Each task's `file` is the one
// the state records (where it came from).
std::vector<TaskData> load_run_tasks(const EvolutionState& st, const std::string& run_dir,
                                     const std::string& data_option);

}  // namespace munet
