// Checkpoint I/O against the disk's raw speed, and what the chunk checksums cost: builds a layer
// pool of at least --params float32 parameters (a root of ViT-B/16 encoder blocks, 7.1M parameters
// each), writes it as a munet checkpoint and reads it back, and measures, in the same run on the
// same folder, a raw sequential write (as dd would, fdatasync) and read of the same number of bytes.
// Page-cache copies of both files are dropped (posix_fadvise) before each read, and both writes
// include the sync to disk, so both sides pay for the disk. The checkpoint is read in a fresh
// process, as a resumed run reads it. Prints MB/s and munet's share of raw.
// Checksums (io/chunk_checksums.h): every round writes the checkpoint with checksums on and off, in
// an order that alternates between rounds; then the last file written with them is read in groups
// of four, verifying and not in turn (ABBA), each read --read-gap seconds after the one before.
// Twice: on the disk (cold reads, O_DIRECT), and in memory (--memory-dir, a tmpfs: no disk, so
// the figures show the checksums' CPU cost without the disk's noise). Each is reported as best of
// N and median, with the range, and as the mean of the paired costs (on against off within one
// round or group). Every deleted file is followed by a sync and --settle seconds, so that no timed
// write or read meets the previous file's discards or write-back.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "io/checkpoint.h"
#include "io/chunk_checksums.h"
#include "kernels/cpu/cpu_backend.h"
#include "nn/vit_config.h"
#include "util/rng.h"

namespace po = boost::program_options;
using namespace munet;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds (every thread) this process has used, user and system apart. The user time is the
// process's own work (the hashing among it) and is steady between rounds; the system time holds
// the kernel's copies into the page cache and whatever page reclaim and writeback it is charged
// for, which swings by seconds between rounds at 1 B parameters. RUSAGE_THREAD: the calling thread
// alone (the writer's, whose work is the write's critical path; the hashing runs beside it).
struct Cpu {
  double user = 0, system = 0;
  Cpu operator-(const Cpu& o) const { return {user - o.user, system - o.system}; }
};
Cpu cpu_seconds(int who = RUSAGE_SELF) {
  rusage u{};
  ::getrusage(who, &u);
  return {double(u.ru_utime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec),
          double(u.ru_stime.tv_sec) + 1e-6 * double(u.ru_stime.tv_usec)};
}

// The least of one part (user or system) over rounds: the rounds' noise only adds.
double least(const std::vector<Cpu>& rounds, double Cpu::*part) {
  double x = 1e30;
  for (const Cpu& c : rounds) x = std::min(x, c.*part);
  return x;
}

// Writes back and evicts a file's cached pages, so that the next read comes from the disk.
void drop_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  MUNET_CHECK(fd >= 0, "cannot open ", path);
  ::fdatasync(fd);
  const int rc = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  MUNET_CHECK(rc == 0, "posix_fadvise failed on ", path);
}

// Deletes a measured file and lets the disk settle before the next timed write: on a file system
// mounted with `discard` (this machine's ext4) the freed extents are discarded at the next
// journal commit, and on a virtual disk with a write-back cache the host drains what was
// written. Either, met by the next write, made the second write of every pair 2-4 times slower.
void remove_and_settle(const std::string& path, double settle_seconds) {
  std::filesystem::remove(path);
  ::sync();
  std::this_thread::sleep_for(std::chrono::duration<double>(settle_seconds));
}

// dd's work, in process: sequential 64 MiB writes of random bytes, fdatasync; or sequential
// 64 MiB reads. Returns seconds. Not zeros, and no block written twice: every 4 KiB page gets
// its block number stamped in, since a virtual disk may turn zero blocks into discards and
// serve repeated ones from its host's cache, neither of which a checkpoint's data meets.
double raw_write(const std::string& path, long long blocks, std::vector<char>& block) {
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  MUNET_CHECK(fd >= 0, "cannot create ", path);
  for (long long b = 0; b < blocks; ++b) {
    for (size_t page = 0; page < block.size(); page += 4096) std::memcpy(block.data() + page, &b, sizeof b);
    MUNET_CHECK(::write(fd, block.data(), block.size()) == ssize_t(block.size()), "write failed: ", path);
  }
  MUNET_CHECK(::fdatasync(fd) == 0, "fdatasync failed: ", path);
  ::close(fd);
  return seconds_since(t0);
}

double raw_read(const std::string& path, std::vector<char>& block) {
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY);
  MUNET_CHECK(fd >= 0, "cannot open ", path);
  while (::read(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
  return seconds_since(t0);
}

// Reads the checkpoint in a new process (this program with --read-only), as a resumed run reads
// it: into memory the process has never touched (a second read in one process reuses freed,
// already-mapped pages and looks faster than any real resume). Returns its MB/s; *cpu gets the
// CPU seconds it used reading.
double read_in_fresh_process(const std::string& path, bool checksums, Cpu* cpu) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string command = "'" + self + "' --read-only '" + path + "'" + (checksums ? "" : " --no-checksums");
  FILE* p = ::popen(command.c_str(), "r");
  MUNET_CHECK(p != nullptr, "cannot run ", command);
  char line[256] = {0};
  double mbps = -1;
  while (std::fgets(line, sizeof line, p))
    if (std::sscanf(line, "read %*f GB in %*f s: %lf MB/s, CPU s %lf user %lf system", &mbps, &cpu->user,
                    &cpu->system) == 3)
      break;
  const int status = ::pclose(p);
  MUNET_CHECK(status == 0 && mbps > 0, "reading ", path, " in a new process failed (", command, ")");
  return mbps;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("bench_checkpoint_io options");
  opts.add_options()("help,h", "show this help")(
      "params", po::value<double>()->default_value(1e9, "1e9"), "float32 parameters in the pool (at least)")(
      "dir", po::value<std::string>()->default_value("bench_checkpoint_io.tmp"), "folder on the disk to measure")(
      "threads", po::value<int>()->default_value(2), "threads for initialising the pool")(
      "keep", po::bool_switch(), "keep the checkpoint file (DIR/pool.h5)")(
      "settle", po::value<double>()->default_value(5), "seconds to wait after deleting each measured file (with a "
      "sync) before the next timed write or read, so that it does not meet the disk's discards or write-back")(
      "no-checksums", po::bool_switch(), "with --read-only: read without reading or verifying any checksum")(
      "memory-dir", po::value<std::string>()->default_value("/dev/shm/bench_checkpoint_io.tmp"),
      "a folder in memory (tmpfs) for the checksums' cost without the disk (\"\": skip; needs room for the "
      "checkpoint, and memory for it and the pool twice)")(
      "rounds", po::value<int>()->default_value(4), "write rounds, each writing with and without checksums (even, so "
      "that their order cancels)")(
      "read-rounds", po::value<int>()->default_value(4), "read groups, each reading the file twice verifying and "
      "twice not (ABBA)")(
      "read-gap", po::value<double>()->default_value(20), "seconds before each read on the disk, so that each "
      "meets the disk in the same state")(
      "read-only", po::value<std::string>(), "only read this checkpoint (e.g. one kept with --keep) and print MB/s, "
      "with its page cache dropped first (for profiling the reader)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::cout << opts << std::endl;
    return 0;
  }
  po::notify(vm);
  try {
    if (vm.count("read-only")) {
      const std::string path = vm["read-only"].as<std::string>();
      h5::set_chunk_checksums(!vm["no-checksums"].as<bool>());
      drop_cache(path);
      CpuBackend be(1);
      const auto t0 = std::chrono::steady_clock::now();
      const Cpu cpu0 = cpu_seconds();
      Checkpoint back = read_checkpoint(path, be);
      const double s = seconds_since(t0);
      const Cpu cpu = cpu_seconds() - cpu0;
      const double bytes = double(back.pool.total_params()) * 4;
      std::printf("read %.2f GB in %.2f s: %.0f MB/s, CPU s %.2f user %.2f system\n", bytes / 1e9, s, bytes / 1e6 / s,
                  cpu.user, cpu.system);
      return 0;
    }
    const std::string dir = vm["dir"].as<std::string>();
    std::filesystem::create_directories(dir);
    CpuBackend be(vm["threads"].as<int>());
    EvolutionConfig cfg;
    cfg.root = vit_preset("b16");
    const int64_t block = 12LL * cfg.root.hidden * cfg.root.hidden + 13LL * cfg.root.hidden;  // ~7.1M
    cfg.root.layers = int((vm["params"].as<double>() + block - 1) / block);
    cfg.max_image_size = cfg.root.image_size;
    TaskData task;
    task.name = "bench";
    task.num_classes = 10;
    auto t0 = std::chrono::steady_clock::now();
    Evolution evo(be, be.pool(), cfg, {task}, nullptr);
    const int64_t params = evo.pool().total_params();
    const double bytes = double(params) * 4;
    std::printf("pool: %zu components (ViT-B/16, %d encoder blocks), %lld float32 parameters, %.2f GB; built in %.1f s\n",
                evo.pool().size(), cfg.root.layers, (long long)params, bytes / 1e9, seconds_since(t0));
    std::fflush(stdout);

    // Raw and munet, alternating, `rounds` times; the best figure of each is reported (the
    // disk of a shared machine is noisy, and the best raw figure is the harder target).
    const std::string raw = dir + "/raw.bin", ckpt = dir + "/pool.h5";
    const long long blocks = (long long)(bytes / (64 << 20)) + 1;
    const double raw_bytes = double(blocks) * (64 << 20);
    std::vector<char> buffer(64 << 20);
    Rng rng(1);
    for (size_t i = 0; i < buffer.size(); i += 8) {
      const uint64_t v = rng.next_u64();
      std::memcpy(buffer.data() + i, &v, 8);
    }
    const std::string memory_dir = vm["memory-dir"].as<std::string>();
    const double settle = vm["settle"].as<double>();
    if (!memory_dir.empty()) std::filesystem::create_directories(memory_dir);
    const std::string memory_ckpt = memory_dir + "/pool.h5";
    // MB/s and CPU seconds of a write, checksums on or off (the process's, and the writing thread's
    // alone), and of a fresh process's read of `path`, verifying or not.
    auto timed_write = [&](const std::string& path, bool on, double* write, Cpu* write_cpu, Cpu* writer_cpu) {
      h5::set_chunk_checksums(on);
      const auto start = std::chrono::steady_clock::now();
      const Cpu cpu0 = cpu_seconds(), thread0 = cpu_seconds(RUSAGE_THREAD);
      write_checkpoint(path, evo, {});
      *write = bytes / 1e6 / seconds_since(start);
      *write_cpu = cpu_seconds() - cpu0;
      *writer_cpu = cpu_seconds(RUSAGE_THREAD) - thread0;
      h5::set_chunk_checksums(true);
    };
    double best_raw_write = 0, best_raw_read = 0, file_bytes = 0;
    // [disk, memory][write, read][checksums off, on]: every round's MB/s, and CPU seconds
    std::vector<double> figures[2][2][2];
    std::vector<Cpu> cpu[2][2][2], writer_cpu[2][2];  // writer_cpu: [disk, memory][off, on]
    // --dir may itself be a tmpfs (the memory phase alone at a size where two would not fit).
    struct statfs fs {};
    const bool dir_in_memory = ::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    const char* const where[2] = {dir_in_memory ? "memory" : "disk", "memory"};
    {  // warm-up, not measured: the first write and read in a place are slower (fresh file-system and
       // page-cache state), which would count against whichever side goes first
      double ignored;
      Cpu ignored_cpu[2];
      for (const std::string& path : {ckpt, memory_ckpt})
        if (path != memory_ckpt || !memory_dir.empty()) {
          timed_write(path, true, &ignored, &ignored_cpu[0], &ignored_cpu[1]);
          read_in_fresh_process(path, true, &ignored_cpu[0]);
          remove_and_settle(path, settle);
        }
    }
    // The checksums' whole work when writing, alone: hashing every chunk of the pool on one core, as
    // the writer's second thread does while it writes (io/component_datasets.cc).
    double hash_seconds = 1e30;
    for (int k = 0; k < 3; ++k) {
      const auto start = std::chrono::steady_clock::now();
      std::vector<uint64_t> hashes;
      for (const auto& [id, e] : evo.pool().entries())
        for (const ParamSpec& p : e.component->layout())
          h5::hash_param_chunks(p, e.component->values().data<float>() + p.offset, hashes);
      hash_seconds = std::min(hash_seconds, seconds_since(start));
    }
    std::printf("hashing the pool's chunks alone (XXH3-64, one core, from memory): %.2f s, %.0f MB/s\n", hash_seconds,
                bytes / 1e6 / hash_seconds);
    // Each round, on the disk: a raw write and read before each of the two checkpoint writes (so
    // that both follow the same work: otherwise the second of a pair met the first one's
    // aftermath and ran 1.5-3 times slower), checksums off first in even rounds, on first in odd
    // ones; then the same in memory. The file written without checksums is deleted each round, the
    // one written with them is kept from the last round for the reads.
    const std::string ckpt_without = dir + "/pool_without_checksums.h5",
                      memory_without = memory_dir + "/pool_without_checksums.h5";
    std::vector<double> round_cost[2][2];  // [disk, memory][write, read]: time with / time without - 1
    const int places = memory_dir.empty() ? 1 : 2, rounds = vm["rounds"].as<int>();
    MUNET_CHECK(rounds >= 1, "--rounds must be at least 1 (it is ", rounds, ")");
    for (int round = 0; round < rounds; ++round) {
      std::printf("round %d:", round + 1);
      for (int m = 0; m < places; ++m) {
        const std::string& with = m == 0 ? ckpt : memory_ckpt;
        const std::string& without = m == 0 ? ckpt_without : memory_without;
        double w[2];
        Cpu wc[2], wt[2];
        for (int k = 0; k < 2; ++k) {
          const bool on = (k + round) % 2 == 1;
          if (m == 0) {
            const double rw = raw_bytes / 1e6 / raw_write(raw, blocks, buffer);
            drop_cache(raw);
            const double rr = raw_bytes / 1e6 / raw_read(raw, buffer);
            remove_and_settle(raw, settle);
            best_raw_write = std::max(best_raw_write, rw), best_raw_read = std::max(best_raw_read, rr);
            std::printf("%s raw write %.0f, raw read %.0f MB/s", k ? ";" : "", rw, rr);
            if (k) std::printf("\n");
            std::fflush(stdout);
          }
          timed_write(on ? with : without, on, &w[on], &wc[on], &wt[on]);
          if (m == 0 && on) file_bytes = double(std::filesystem::file_size(with));
        }
        remove_and_settle(without, settle);
        if (round + 1 < rounds) remove_and_settle(with, settle);
        for (int on = 0; on < 2; ++on)
          figures[m][0][on].push_back(w[on]), cpu[m][0][on].push_back(wc[on]), writer_cpu[m][on].push_back(wt[on]);
        round_cost[m][0].push_back(w[0] / w[1] - 1);
        std::printf("  %-6s: munet write %.0f MB/s with checksums, %.0f without (%s first); CPU s (user + system) "
                    "%.2f+%.2f with, %.2f+%.2f without\n", where[m], w[1], w[0], round % 2 == 0 ? "without" : "with",
                    wc[1].user, wc[1].system, wc[0].user, wc[0].system);
      }
      std::fflush(stdout);
    }
    // Then the reads of the file written with checksums in the last round, verifying and not in
    // turn, in groups of four (on, off, off, on; then off, on, on, off), each in a fresh process:
    // the same bytes at the same places on both sides. On the disk each read waits --read-gap
    // seconds first. Reads done within the rounds, straight after the writes and deletions, ranged
    // 460-1110 MB/s, and their place in the round decided more than the checksums did (the first two
    // were the fast ones); read 20 s apart with no write near, the same file read at 1240-1250 MB/s.
    const int read_rounds = vm["read-rounds"].as<int>();
    const double gap = vm["read-gap"].as<double>();
    MUNET_CHECK(read_rounds >= 1, "--read-rounds must be at least 1 (it is ", read_rounds, ")");
    for (int m = 0; m < places; ++m) {
      const std::string& path = m == 0 ? ckpt : memory_ckpt;
      for (int g = 0; g < read_rounds; ++g) {
        double seconds[2] = {0, 0};
        std::printf("reads %d (%s), MB/s and CPU s (user + system):", g + 1, where[m]);
        for (int k = 0; k < 4; ++k) {
          const bool on = ((k == 0 || k == 3) + g) % 2 == 1;
          if (m == 0) std::this_thread::sleep_for(std::chrono::duration<double>(gap));
          Cpu c;
          const double mbps = read_in_fresh_process(path, on, &c);
          figures[m][1][on].push_back(mbps), cpu[m][1][on].push_back(c);
          seconds[on] += bytes / 1e6 / mbps;
          std::printf("%s %s %.0f (%.2f+%.2f)", k ? "," : "", on ? "verifying" : "not", mbps, c.user, c.system);
          std::fflush(stdout);
        }
        std::printf("\n");
        round_cost[m][1].push_back(seconds[1] / seconds[0] - 1);
      }
      if (!vm["keep"].as<bool>() || m == 1) std::filesystem::remove(path);
    }
    auto best = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
    auto range = [](const std::vector<double>& v) {
      return cat(int(*std::min_element(v.begin(), v.end()) + 0.5), "-", int(*std::max_element(v.begin(), v.end()) + 0.5));
    };
    auto percent = [](double x) { return cat(x >= 0 ? "+" : "", int(std::lround(x * 1000)) / 10.0, "%"); };
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    };
    std::printf("checksums' cost (time with / time without - 1: positive is slower):\n");
    for (int m = 0; m < places; ++m)
      for (int io = 0; io < 2; ++io) {
        const std::vector<double>&off = figures[m][io][0], &on = figures[m][io][1];
        // Within each round (reading: each group of four): the cost, both reads of a side together.
        std::vector<double> paired = round_cost[m][io];
        double mean = 0;
        for (double c : paired) mean += c / double(paired.size());
        std::sort(paired.begin(), paired.end());
        // Best of N takes the noise as only ever adding; the median does not, and one read that
        // met a fast moment of a shared disk cannot move it.
        const double best_cost = best(off) / best(on) - 1, median_cost = median(off) / median(on) - 1;
        std::printf("  %-6s %-5s: with %s MB/s (best %.0f, median %.0f), without %s (best %.0f, median %.0f); cost "
                    "best-of-%zu %s, median %s, per %s %s mean (%s to %s)%s\n", where[m], io ? "read" : "write",
                    range(on).c_str(), best(on), median(on), range(off).c_str(), best(off), median(off), on.size(),
                    percent(best_cost).c_str(), percent(median_cost).c_str(), io ? "group of four" : "round",
                    percent(mean).c_str(),
                    percent(paired.front()).c_str(), percent(paired.back()).c_str(),
                    io == 0 && paired.size() % 2 ? "; an odd number of rounds: the write order does not cancel" : "");
        // CPU: the least each side used (the rounds' noise only adds), user and system apart, and
        // what the checksums add as a share of the best time without them: their cost were they
        // not overlapped with anything.
        const std::vector<Cpu>&cpu_off = cpu[m][io][0], &cpu_on = cpu[m][io][1];
        const double seconds_off = bytes / 1e6 / best(off);
        const double user_added = least(cpu_on, &Cpu::user) - least(cpu_off, &Cpu::user);
        std::printf("  %-6s %-5s  CPU s, least of %zu: user %.2f with, %.2f without (the checksums add %.2f, %s of "
                    "the best time without them, %.2f s); system %.2f with, %.2f without\n", where[m],
                    io ? "read" : "write", on.size(), least(cpu_on, &Cpu::user), least(cpu_off, &Cpu::user),
                    user_added, percent(user_added / seconds_off).c_str(), seconds_off, least(cpu_on, &Cpu::system),
                    least(cpu_off, &Cpu::system));
        if (io == 0)  // the writing thread alone: what the checksums put on the write's critical path
          std::printf("  %-6s write  the writing thread's own CPU s, least of %zu: user %.2f with, %.2f without; "
                      "system %.2f with, %.2f without\n", where[m], on.size(), least(writer_cpu[m][1], &Cpu::user),
                      least(writer_cpu[m][0], &Cpu::user), least(writer_cpu[m][1], &Cpu::system),
                      least(writer_cpu[m][0], &Cpu::system));
        std::printf("checksums_%s_cost_%s %.3f\nchecksums_%s_median_cost_%s %.3f\nchecksums_%s_user_cpu_share_%s "
                    "%.3f\n", io ? "read" : "write", where[m], best_cost, io ? "read" : "write", where[m], median_cost,
                    io ? "read" : "write", where[m], user_added / seconds_off);
      }
    std::printf("  hashing alone is %s of the best disk write time without checksums: the most it can add, were "
                "none of it overlapped with the disk's writeback\n",
                percent(hash_seconds / (bytes / 1e6 / best(figures[0][0][0]))).c_str());
    if (!memory_dir.empty()) std::filesystem::remove(memory_dir);
    const double write = best(figures[0][0][1]), read = best(figures[0][1][1]);
    std::printf("checkpoint file: %.2f GB (%.3f%% beyond the parameters)\n", file_bytes / 1e9,
                100 * (file_bytes / bytes - 1));
    std::printf("raw_write_MBps %.0f\nraw_read_MBps %.0f\n", best_raw_write, best_raw_read);
    std::printf("munet_write_MBps %.0f\nmunet_read_MBps %.0f\n", write, read);
    std::printf("write_share_of_raw %.2f\nread_share_of_raw %.2f\n", write / best_raw_write, read / best_raw_read);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_checkpoint_io: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
