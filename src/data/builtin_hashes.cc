// One table of the built-in tasks' known content hashes. A new recipe or a change to how the
// recipes read their files changes these: print them with munet train --task NAME (its
// "content hash" line) on the real files and update the table.
#include "data/builtin_hashes.h"

#include <iostream>

#include "data/task_checks.h"
#include "util/error.h"

namespace munet {
namespace {

struct KnownHash {
  const char* name;
  const char* hash;
};

constexpr KnownHash kKnownHashes[] = {
    {"mnist", "cb91a1599cc0cc8f0ede6dfe3070c7d2"},
    {"fashion_mnist", "13a2741dacd78ebeff86b3fd8a59083d"},
    {"omniglot", "25d2c59daca7703c3105052903b071d6"},
    {"cmaterdb_bangla", "d7f18a57be273fd92f676b8c64c0ddf5"},
    {"cmaterdb_devanagari", "1c923e7dabd0e385f42777416b81ac38"},
};

}  // namespace

std::string known_builtin_hash(const std::string& name) {
  for (const KnownHash& k : kKnownHashes)
    if (name == k.name) return k.hash;
  return "";
}

void check_builtin_hash(const TaskData& task, const TaskSplits& splits, const std::string& dir) {
  const std::string want = known_builtin_hash(task.name);
  if (want.empty() || task.content_hash == want) return;
  for (const KnownHash& k : kKnownHashes) {  // the same arrays under another built-in's name
    if (task.name == k.name) continue;
    TaskData as_other;
    as_other.name = k.name;
    as_other.num_classes = task.num_classes;
    MUNET_CHECK(task_content_hash(as_other, splits) != k.hash, "task ", task.name, ": the files in ", dir,
                " are those of the built-in task ", k.name, ": are the dataset folders swapped?");
  }
  // Other files (a generated test set, a newer release): said, and used as they are; the content
  // hash recorded in checkpoints tells the runs apart.
  std::cerr << "warning: task " << task.name << ": the files in " << dir << " are not the public dataset (content hash "
            << task.content_hash << ", known " << want << "); using them as they are\n";
}

}  // namespace munet
