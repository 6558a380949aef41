// The run-folder lock (util/run_lock): one holder at a time, released at the end, a lost lock
// stops its holder, and the heartbeat keeps a lock fresh while a generation runs longer than the
// stale time (the lock's modification time is what other processes judge).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "support/expect_error.h"
#include "support/test_files.h"
#include "util/run_lock.h"

namespace munet {
namespace {

time_t mtime(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
}

TEST(RunLock, OneHolderAtATimeAndReleasedAtTheEnd) {
  test::TempDir dir;
  {
    RunLock first(dir.path(), 30, false);
    EXPECT_ERROR(RunLock(dir.path(), 30, false), "in use by another munet process", "pid ",
                 std::to_string(::getpid()));
    first.refresh();
  }
  EXPECT_NE(::access((dir.path() + "/munet.lock").c_str(), F_OK), 0);
}

TEST(RunLock, AHolderWhoseLockWasTakenStops) {
  test::TempDir dir;
  RunLock mine(dir.path(), 30, false);
  std::ofstream(dir.path() + "/munet.lock") << "host elsewhere\npid 7\nslurm_job_id \ntoken other\n";
  EXPECT_ERROR(mine.refresh(), "this run's lock was taken by another process (host elsewhere, pid 7");
}

TEST(RunLock, HeartbeatRefreshesALockBetweenGenerations) {
  test::TempDir dir;
  RunLock lock(dir.path(), 1, false);  // stale after 1 minute: a heartbeat every 20 s
  const std::string path = dir.path() + "/munet.lock";
  const struct timespec old[2] = {{std::time(nullptr) - 7200, 0}, {std::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
  for (int i = 0; i < 30 && std::time(nullptr) - mtime(path) > 60; ++i) std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_LE(std::time(nullptr) - mtime(path), 60) << "no heartbeat within 30 s";
}

}  // namespace
}  // namespace munet
