// Checkpoint I/O against the disk's raw speed: builds a layer pool of at least --params float32
// parameters (a root of ViT-B/16 encoder blocks, 7.1M parameters each), writes it as a munet
// checkpoint and reads it back, and measures, in the same run on the same folder, a raw
// sequential write (as dd would, fdatasync) and read of the same number of bytes. Page-cache copies of
// both files are dropped (posix_fadvise) before each read, and both writes include the sync to
// disk, so both sides pay for the disk. The checkpoint is read in a fresh process, as a resumed run
// reads it. Prints MB/s and munet's share of raw, and what the chunk checksums cost: each round
// writes and reads the checkpoint with checksums on and off (io/chunk_checksums.h), alternating.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

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

// Writes back and evicts a file's cached pages, so that the next read comes from the disk.
void drop_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  MUNET_CHECK(fd >= 0, "cannot open ", path);
  ::fdatasync(fd);
  const int rc = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  MUNET_CHECK(rc == 0, "posix_fadvise failed on ", path);
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
// already-mapped pages and looks faster than any real resume). Returns its MB/s.
double read_in_fresh_process(const std::string& path, bool checksums) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string command = "'" + self + "' --read-only '" + path + "'" + (checksums ? "" : " --no-checksums");
  FILE* p = ::popen(command.c_str(), "r");
  MUNET_CHECK(p != nullptr, "cannot run ", command);
  char line[256] = {0};
  double mbps = -1;
  while (std::fgets(line, sizeof line, p))
    if (std::sscanf(line, "read %*f GB in %*f s: %lf MB/s", &mbps) == 1) break;
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
      "no-checksums", po::bool_switch(), "with --read-only: read without verifying the chunk checksums")(
      "rounds", po::value<int>()->default_value(3), "measurement rounds (the best of each figure is reported)")(
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
      Checkpoint back = read_checkpoint(path, be);
      const double s = seconds_since(t0);
      const double bytes = double(back.pool.total_params()) * 4;
      std::printf("read %.2f GB in %.2f s: %.0f MB/s\n", bytes / 1e9, s, bytes / 1e6 / s);
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
    double best_raw_write = 0, best_raw_read = 0, write = 0, read = 0, file_bytes = 0, plain_write = 0, plain_read = 0;
    std::vector<double> on_w, on_r, off_w, off_r;  // every round's figures, for the ranges
    for (int round = 0; round < vm["rounds"].as<int>(); ++round) {
      const double rw = raw_bytes / 1e6 / raw_write(raw, blocks, buffer);
      drop_cache(raw);
      const double rr = raw_bytes / 1e6 / raw_read(raw, buffer);
      std::filesystem::remove(raw);
      double mw[2], mr[2];  // [checksums off, on], in an order that alternates between rounds
      for (int k = 0; k < 2; ++k) {
        const bool on = (k + round) % 2 == 1;
        h5::set_chunk_checksums(on);
        t0 = std::chrono::steady_clock::now();
        write_checkpoint(ckpt, evo, {});
        mw[on] = bytes / 1e6 / seconds_since(t0);
        file_bytes = double(std::filesystem::file_size(ckpt));
        drop_cache(ckpt);
        mr[on] = read_in_fresh_process(ckpt, on);
        if (!vm["keep"].as<bool>() || !on) std::filesystem::remove(ckpt);
      }
      h5::set_chunk_checksums(true);
      std::printf("round %d: raw write %.0f, raw read %.0f; munet write %.0f, read %.0f MB/s with checksums, "
                  "%.0f and %.0f without\n", round + 1, rw, rr, mw[1], mr[1], mw[0], mr[0]);
      std::fflush(stdout);
      best_raw_write = std::max(best_raw_write, rw), best_raw_read = std::max(best_raw_read, rr);
      write = std::max(write, mw[1]), read = std::max(read, mr[1]);
      plain_write = std::max(plain_write, mw[0]), plain_read = std::max(plain_read, mr[0]);
      on_w.push_back(mw[1]), on_r.push_back(mr[1]), off_w.push_back(mw[0]), off_r.push_back(mr[0]);
    }
    auto range = [](const std::vector<double>& v) {
      return cat(int(*std::min_element(v.begin(), v.end())), "-", int(*std::max_element(v.begin(), v.end())));
    };
    std::printf("ranges over rounds (MB/s): write %s with checksums, %s without; read %s with, %s without\n",
                range(on_w).c_str(), range(off_w).c_str(), range(on_r).c_str(), range(off_r).c_str());
    std::printf("checksums_write_cost %.1f%%\nchecksums_read_cost %.1f%%\n", 100 * (1 - write / plain_write),
                100 * (1 - read / plain_read));
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
