// What munet evolve checks before any work, so that nothing of another run (or of this one) is
// lost: its output paths can be written and none is one of its inputs, --resume does not continue
// one run into the folder of another, and one process at a time owns the run folder (its lock).
#pragma once
#include <memory>

#include "app/options.h"
#include "dist/communicator.h"
#include "evo/evolution.h"
#include "util/run_lock.h"

namespace munet::app {

po::options_description run_lock_options();  // --lock-stale-minutes, --break-lock

// On every rank, before loading data: --output and --genealogy writable, neither an input,
// and --resume's run folder is --output or --output holds no other run's checkpoints.
void check_evolve_paths(const po::variables_map& vm);

// On rank 0: creates --output and takes its lock (nullptr without --output).
std::unique_ptr<RunLock> lock_run_folder(const po::variables_map& vm);

// The bytes the next checkpoint of `evo` needs on disk: every component's parameters and
// momentum (summed over the ranks that hold them) and a margin for the tables and metadata.
int64_t checkpoint_bytes(const Evolution& evo, Communicator& comm);

}  // namespace munet::app
