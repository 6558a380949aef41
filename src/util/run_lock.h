// One owner per run folder. A run (munet evolve --output DIR) holds DIR/munet.lock, created with
// O_EXCL and naming its host, pid, Slurm job id and a random token; rank 0 refreshes it every
// generation. A second process is refused, naming the holder, unless the lock is stale (not
// refreshed for the stated minutes, or its pid is gone on this host) or --break-lock is given.
// What this promises on NFS and Lustre is in README.md ("Reliability").
#pragma once
#include <string>

namespace munet {

struct LockHolder {
  std::string host, pid, slurm_job, token;
  long long age_seconds = 0;  // since its last refresh (the file's modification time)
  std::string text() const;   // "host H, pid P, Slurm job J, refreshed N s ago"
};

class RunLock {
 public:
  // Takes DIR/munet.lock (DIR must exist). Throws, naming the holder, when another live process
  // holds it; takes over a stale one (saying so on stdout) or, with break_lock, any.
  RunLock(const std::string& dir, int stale_minutes, bool break_lock);
  ~RunLock();  // removes the lock if it is still ours
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  // Marks the lock as alive; throws when another process has taken it (the run must stop: two
  // writers would overwrite each other's checkpoints).
  void refresh();
  const std::string& path() const { return path_; }

 private:
  std::string path_, token_;
};

}  // namespace munet
