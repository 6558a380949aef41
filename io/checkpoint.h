// Checkpoints: the whole state of an evolution in one HDF5 file (io/SCHEMA.md), written so that
// a crash never costs more than the generation in flight, and read back to continue
// bit-identically. Writing streams the layer pool component by component from where it lives
// (no second copy of the pool), to "<path>.partial"; the root attribute `complete` is written
// last, then the file is synced and renamed to `path`. Reading checks everything it reads and
// names the file and object in every error.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "evo/evolution.h"
#include "evo/ranks.h"
#include "io/parallel_io.h"

namespace munet {

// Version written now; versions from kOldestCheckpointVersion on are read (a field an older one
// lacks takes its legacy value: evo/config_fields.h). 2 added the paper's configuration fields;
// 3 the tasks' stages, join points and run-folder copies (older ones read as one stage);
// kChecksummedCheckpointVersion the per-chunk checksums of the pool's parameters and momentum
// (io/chunk_checksums.h). Older versions still load, with a warning that nothing verifies their
// values.
constexpr int kStagedCheckpointVersion = 3;
constexpr int kChecksummedCheckpointVersion = 4;
constexpr int kCheckpointVersion = kChecksummedCheckpointVersion;
constexpr int kOldestCheckpointVersion = 1;

// Called after each component a rank writes or reads, with bytes done and bytes in all.
using IoProgress = std::function<void(int64_t done, int64_t total)>;

// Facts about the run that are not part of its state (never compared on resume).
struct RunInfo {
  std::string command_line;
  std::string root_file;  // the --root model file, if any
  int ranks = 1;
};

// Every rank of `io` calls this with the same evolution state; rank r writes the values of
// the components io.writer(id) == r. Returns when the file is complete under `path`.
void write_checkpoint(const std::string& path, const Evolution& evo, const RunInfo& info, const ParallelIo& io = {},
                      const IoProgress& progress = {});

// One pool entry as the checkpoint records it (values not read).
struct PoolEntryInfo {
  ComponentId id = -1;
  std::string name;
  ComponentKind kind = ComponentKind::EncoderBlock;
  int owner = kRootTask;
  std::vector<int> locks;
  int64_t size = 0;
  bool has_velocity = false;
  // Bytes of parameters (and momentum) stored for it.
  int64_t stored_bytes() const { return size * int64_t(sizeof(float)) * (has_velocity ? 2 : 1); }
};

// Everything but the parameters: for `munet inspect` and for choosing what to read.
struct CheckpointInfo {
  int64_t format_version = kCheckpointVersion;
  EvolutionState state;
  std::vector<PoolEntryInfo> pool;
  RunInfo run;
  int64_t generations_done = 0, total_generations = 0;
  ComponentId next_component = 0;  // the id the pool gives its next component
};

struct Checkpoint {
  EvolutionState state;
  LayerPool pool;
  RunInfo run;
};

// Throws munet::Error naming the file and what is wrong: missing, not HDF5, truncated, not a
// complete munet checkpoint, another format version, a missing or mis-shaped dataset.
CheckpointInfo read_checkpoint_info(const std::string& path);
// One rank's share of a sharded pool: the components whose home (evo/ranks.h) it is.
struct Shard {
  int rank = 0, size = 1;
  bool holds(ComponentId id) const { return home_rank(id, size) == rank; }
};
// Reads the parameters of the shard's components only; the others become shells.
Checkpoint read_checkpoint(const std::string& path, Backend& backend, const IoProgress& progress = {},
                           const Shard& shard = {});
// Only these components (e.g. one model's route), by id.
std::map<ComponentId, std::unique_ptr<Component>> read_components(const std::string& path,
                                                                  const std::vector<ComponentId>& ids,
                                                                  Backend& backend);

// What verify_checkpoint checked.
struct CheckpointVerification {
  int64_t format_version = 0;
  int64_t objects = 0;     // attributes and tables (/digest rows)
  int64_t components = 0;  // whose parameters (and momentum) were read
  int64_t chunks = 0;      // parameter chunks checked against their checksums
  int64_t bytes = 0;       // parameter bytes read
  bool checksummed() const { return format_version >= kChecksummedCheckpointVersion; }
};
// Reads every byte of the checkpoint one component at a time (memory: one component), checking
// the /digest and every parameter and momentum chunk; throws what read_checkpoint would, naming
// the damaged object, chunk and both hashes. A checkpoint older than the checksums is read whole
// (a missing or truncated dataset is still found) but nothing can be compared.
CheckpointVerification verify_checkpoint(const std::string& path);

}  // namespace munet
