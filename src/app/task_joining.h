// Tasks joining a run (evo/evolution.h, "Stages"): the copies of a new run's task files, a stage
// added with --add-tasks, and the task inbox looked at between turns (io/task_inbox.h). Rank 0
// decides (it alone reads the inbox and writes the copies into the run folder) and broadcasts
// what joins; every rank then loads the tasks from the copies and adds the same stage, so every
// rank agrees, and the caller writes a checkpoint that records the stage before any training.
#pragma once
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "evo/evolution.h"

namespace munet::app {

// Copies a new run's task files into RUN/tasks/ (rank 0) and records the copies (every rank).
void record_task_copies(Evolution& evo, const std::string& run_dir, Communicator& comm);

// --add-tasks: the entries (task files and built-in names) as a new stage. Returns false, adding
// nothing, when every entry is already in the run with the same data (the same command run again,
// e.g. by a requeued job); refuses a list that is only partly in the run.
bool add_task_stage(Evolution& evo, const std::vector<std::string>& entries, const std::string& run_dir,
                    const std::string& data_option, Communicator& comm);

// The inbox at a turn boundary: what joined (as one new stage), and the inbox files rank 0 moves
// to DIR/joined/ once the checkpoint that records them is written (finish_inbox_join).
struct InboxJoin {
  int tasks = 0;
  std::vector<std::string> files;
};
InboxJoin join_from_inbox(Evolution& evo, const std::string& inbox, const std::string& run_dir,
                          const std::string& data_option, Communicator& comm);
void finish_inbox_join(const InboxJoin& join, const std::string& inbox, Communicator& comm);

}  // namespace munet::app
