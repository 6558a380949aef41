// One owner per run folder. A run (munet evolve --output DIR) holds DIR/munet.lock, created with
// O_EXCL and naming its host, pid, Slurm job id and a random token; rank 0 checks it every
// generation, and a heartbeat thread refreshes it every minute, so that a generation longer than
// the stale time does not make a live lock look stale. A second process is refused, naming the
// holder, unless the lock is stale (not refreshed for the stated minutes, its pid gone on this
// host, or this Slurm job's own from another node) or --break-lock is given.
// What this promises on NFS and Lustre is in README.md ("Reliability").
#pragma once
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

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
  void heartbeat(int stale_minutes);  // the thread's loop: touches the lock while it is ours

  std::string path_, token_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread heartbeat_;
};

}  // namespace munet
