// The content hashes (XXH3-128, task_content_hash) of the built-in tasks made from the real
// public files (shared/datasets), so that swapped folders (mnist <-> fashion_mnist, bangla <->
// devanagari) or damaged files are caught when a task loads, not after a run on the wrong data.
// The hash names the task, so a swap is found by hashing the arrays under the other names.
#pragma once
#include <string>

#include "data/task_checks.h"

namespace munet {

// The known hash of built-in task `name`, or "" when there is none.
std::string known_builtin_hash(const std::string& name);

// Throws when built-in task `task` (its content_hash set, read from `dir`) holds the files of
// another built-in task (swapped folders), naming it; warns on stderr when its files are not the
// public dataset's at all (generated test files, another release).
void check_builtin_hash(const TaskData& task, const TaskSplits& splits, const std::string& dir);

}  // namespace munet
