#include "app/stop_request.h"

#include <atomic>
#include <csignal>
#include <cstdio>

namespace munet::app {
namespace {

// Written in a signal handler, read by the main thread: a lock-free atomic is both
// async-signal-safe and free of data races (the signal may land on any thread).
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the stop flag must be lock-free");

extern "C" void on_stop_signal(int sig) {
  int none = 0;
  g_stop_signal.compare_exchange_strong(none, sig);  // keep the first signal
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in progress carry on instead of failing with EINTR
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop_signal.load() != 0; }

void adopt_stop_signal(int sig) {
  int none = 0;
  g_stop_signal.compare_exchange_strong(none, sig);
}

int stop_signal() { return g_stop_signal.load(); }

const char* stop_signal_name() {
  switch (g_stop_signal.load()) {
    case 0: return "";
    case SIGUSR1: return "SIGUSR1";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

int report_stop(const std::string& checkpoint, int64_t generations_done, int64_t total) {
  if (checkpoint.empty()) {
    std::printf("stopped by %s after generation %lld of %lld; no --output, so nothing was saved\n",
                stop_signal_name(), (long long)generations_done, (long long)total);
    std::fflush(stdout);
    return 128 + stop_signal();
  }
  std::printf("stopped by %s after generation %lld of %lld; checkpoint %s; run again with the same --output "
              "to resume\n",
              stop_signal_name(), (long long)generations_done, (long long)total, checkpoint.c_str());
  std::fflush(stdout);
  return kExitStopped;
}

}  // namespace munet::app
