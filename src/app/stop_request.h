// A polite stop for long runs. Batch systems warn a job before they end it: Slurm sends the
// signal asked for with `#SBATCH --signal=B:USR1@SECONDS` before the time limit (the job script
// forwards it to munet), and SIGTERM when it preempts or cancels a job, a grace period before
// SIGKILL. Without a handler either signal kills munet mid-generation and the work since the last
// checkpoint is lost. With install_stop_handlers(), SIGUSR1 and SIGTERM only raise a flag; `munet
// evolve` looks at it after each finished generation, writes a checkpoint for that generation and
// exits with kExitStopped, and the job script requeues the job, which resumes from that
// checkpoint. A second signal changes nothing; SIGINT and SIGKILL still end munet at once.
//
// The flag is this process's own. In a multi-rank run each rank gets the signal at a slightly
// different time, so the ranks must agree (a collective OR of stop_requested()) before acting on
// it; that agreement belongs to the caller.
#pragma once
#include <cstdint>
#include <string>

namespace munet::app {

// Exit status of a run stopped by a signal after writing a checkpoint it can resume from.
// A stop with nothing saved (no --output) exits with 128 + the signal number instead, as if the
// signal had killed it, so that a job script does not requeue a run that would start over.
constexpr int kExitStopped = 3;

// Makes SIGUSR1 and SIGTERM set the stop flag (and nothing else). Idempotent.
void install_stop_handlers();

// Whether SIGUSR1 or SIGTERM arrived since install_stop_handlers(). Cheap; call it often.
bool stop_requested();

// Takes another rank's stop signal as this process's own, when none came here (so that every
// rank reports and exits alike).
void adopt_stop_signal(int sig);

// The first stop signal's number and name ("SIGUSR1", "SIGTERM"); 0 and "" when none came.
int stop_signal();
const char* stop_signal_name();

// Prints why and where a run stopped after `generations_done` of `total` generations and returns
// its exit status: kExitStopped with a checkpoint (resume by running again with the same
// --output), 128 + signal without one.
int report_stop(const std::string& checkpoint, int64_t generations_done, int64_t total);

}  // namespace munet::app
