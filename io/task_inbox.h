// The task inbox of a running job (munet evolve --task-inbox DIR). The protocol for a writer:
// write the task file into DIR under a name that does not end in ".h5" (e.g. NAME.h5.part), then
// rename it to NAME.h5; a rename within one file system is atomic, so munet never sees a part.
// munet takes only regular files whose name ends in ".h5", in byte order of their names. A file
// that reads as a complete, valid task (read_task_file: format, version, hash of the data, every
// check) with a name new to the run is taken; one that does not is moved to DIR/rejected/ with
// NAME.h5.error beside it saying why, and the run carries on. A taken file moves to DIR/joined/
// once the checkpoint that records its stage is written (so a crash before that leaves it in
// the inbox, and a file whose task the run already holds with the same content hash just moves
// to joined/). Only rank 0 looks at DIR.
#pragma once
#include <string>
#include <vector>

namespace munet {

struct InboxTask {
  std::string file;  // in DIR
  std::string name;  // the task's name
};

struct InboxScan {
  std::vector<InboxTask> taken;        // valid, new, in name order
  std::vector<std::string> already;    // files of tasks the run already holds (same content hash)
  std::vector<std::string> rejected;   // "FILE: reason", each now in DIR/rejected/
};

// Looks in `dir` once. `known`: the run's tasks as (name, content hash). A missing `dir` is an
// error (the option named a folder that is not there); a problem with one file never is.
InboxScan scan_inbox(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& known);

// Moves a file of the inbox to DIR/<sub>/ (joined, rejected), creating the folder; returns
// its new path.
std::string move_in_inbox(const std::string& dir, const std::string& file, const std::string& sub);

}  // namespace munet
