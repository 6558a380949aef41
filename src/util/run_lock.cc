// The run-folder lock: O_EXCL creation, staleness, safe breaking, refresh by modification time.
#include "util/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include "util/error.h"

namespace munet {
namespace {

constexpr int kEndingGraceSeconds = 10;

std::string this_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string new_token() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

// Reads a lock file; false when it does not exist (any more).
bool read_holder(const std::string& path, LockHolder& h) {
  std::ifstream in(path);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    const size_t space = line.find(' ');
    const std::string key = line.substr(0, space), value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "host") h.host = value;
    else if (key == "pid") h.pid = value;
    else if (key == "slurm_job_id") h.slurm_job = value;
    else if (key == "token") h.token = value;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  h.age_seconds = static_cast<long long>(std::time(nullptr) - st.st_mtime);
  return true;
}

// False when pid is gone or a zombie (ended, not yet reaped by its parent, e.g. a killed MPI rank).
bool process_alive(long pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat(cat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return !(paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z');
}

// Why a lock is stale, or "" when its holder may be alive.
std::string stale_reason(const LockHolder& h, int stale_minutes) {
  if (h.age_seconds > stale_minutes * 60LL)
    return cat("not refreshed for ", h.age_seconds / 60, " minutes (stale after ", stale_minutes, ", --lock-stale-minutes)");
  if (h.host == this_host()) {  // on this host the pid tells: gone, or alive (whatever its Slurm job)
    char* end = nullptr;
    const long pid = std::strtol(h.pid.c_str(), &end, 10);
    if (pid > 0 && end && *end == '\0' && !process_alive(pid)) return cat("its process ", pid, " is gone on this host");
  } else {
    // Slurm runs one incarnation of a job at a time: a lock of this same job from another node
    // is its earlier run, ended by a requeue, not a concurrent writer.
    const char* job = std::getenv("SLURM_JOB_ID");
    if (job && *job && h.slurm_job == job) return cat("it is this Slurm job's (", job, ") earlier run, requeued");
  }
  if (h.token.empty()) return "it is not a munet lock file (no token)";
  return "";
}

}  // namespace

std::string LockHolder::text() const {
  return cat("host ", host.empty() ? "?" : host, ", pid ", pid.empty() ? "?" : pid, ", Slurm job ",
             slurm_job.empty() ? "none" : slurm_job, ", refreshed ", age_seconds, " s ago");
}

RunLock::RunLock(const std::string& dir, int stale_minutes, bool break_lock)
    : path_(dir + "/munet.lock"), token_(new_token()) {
  const char* job = std::getenv("SLURM_JOB_ID");
  const std::string content = cat("host ", this_host(), "\npid ", ::getpid(), "\nslurm_job_id ", job ? job : "",
                                  "\ntoken ", token_, "\n");
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      const bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size()) && ::fsync(fd) == 0;
      const int e = errno;
      ::close(fd);
      if (!ok) {
        ::unlink(path_.c_str());
        fail("cannot write the run lock ", path_, ": ", std::strerror(e));
      }
      heartbeat_ = std::thread([this, stale_minutes] { heartbeat(stale_minutes); });
      return;
    }
    MUNET_CHECK(errno == EEXIST, "cannot create the run lock ", path_, ": ", std::strerror(errno));
    LockHolder h;
    if (!read_holder(path_, h)) continue;  // its holder just released it: try again
    std::string why = break_lock ? std::string("--break-lock") : stale_reason(h, stale_minutes);
    // A holder on this host may be ending (a killed job's rank still exiting): give it a few seconds.
    for (int wait = 0; why.empty() && h.host == this_host() && wait < kEndingGraceSeconds; ++wait) {
      if (wait == 0) {
        std::printf("waiting up to %d s for the run lock %s (%s) to be released\n", kEndingGraceSeconds,
                    path_.c_str(), h.text().c_str());
        std::fflush(stdout);
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (!read_holder(path_, h)) break;  // released: take it on the next attempt
      why = stale_reason(h, stale_minutes);
    }
    if (::access(path_.c_str(), F_OK) != 0) continue;
    MUNET_CHECK(!why.empty(), path_, ": this run folder is in use by another munet process (", h.text(),
                "). Two writers would overwrite each other's checkpoints. Wait for it to end, stop it, or, if it is "
                "gone, start again with --break-lock (a lock also goes stale after --lock-stale-minutes without "
                "a refresh)");
    // Break it by renaming it away (atomic), then check that what was renamed is the lock judged
    // stale: a process that created a fresh lock meanwhile gets it back, and this one is refused.
    const std::string aside = cat(path_, ".broken.", ::getpid());
    if (::rename(path_.c_str(), aside.c_str()) != 0) continue;  // gone meanwhile: try again
    LockHolder moved;
    read_holder(aside, moved);
    if (moved.token != h.token || moved.pid != h.pid || moved.host != h.host) {
      const bool restored = ::link(aside.c_str(), path_.c_str()) == 0;
      ::unlink(aside.c_str());
      fail(path_, ": another munet process took this run folder just now (", moved.text(), ")",
           restored ? "" : "; its lock could not be put back");
    }
    ::unlink(aside.c_str());
    std::printf("took over the run lock %s from %s: %s\n", path_.c_str(), h.text().c_str(), why.c_str());
    std::fflush(stdout);
  }
  fail("cannot take the run lock ", path_, ": other processes keep creating it");
}

void RunLock::heartbeat(int stale_minutes) {
  const auto every = std::chrono::seconds(std::min(60, stale_minutes * 60 / 3));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, every, [this] { return stopping_; })) {
    LockHolder h;  // only while it is ours: a lock taken by another process is left alone
    if (read_holder(path_, h) && h.token == token_) ::utimensat(AT_FDCWD, path_.c_str(), nullptr, 0);
  }
}

void RunLock::refresh() {
  LockHolder h;
  const bool exists = read_holder(path_, h);
  MUNET_CHECK(exists && h.token == token_, path_, ": this run's lock was ",
              exists ? "taken by another process (" + h.text() + ")" : std::string("removed"),
              "; stopping so that two writers do not overwrite each other's checkpoints");
  MUNET_CHECK(::utimensat(AT_FDCWD, path_.c_str(), nullptr, 0) == 0, "cannot refresh the run lock ", path_, ": ",
              std::strerror(errno));
}

RunLock::~RunLock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  LockHolder h;
  if (read_holder(path_, h) && h.token == token_) ::unlink(path_.c_str());
}

}  // namespace munet
