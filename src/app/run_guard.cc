// munet evolve's checks on its paths and its run-folder lock.
#include "app/run_guard.h"

#include <filesystem>
#include <sstream>

#include "util/error.h"
#include "util/path_checks.h"

namespace munet::app {
namespace {

namespace fs = std::filesystem;

// The run folder a checkpoint belongs to: DIR for DIR/checkpoints/ckpt-N.h5, else its folder.
fs::path run_folder_of(const std::string& checkpoint) {
  fs::path folder = fs::path(checkpoint).parent_path();
  if (folder.empty()) folder = ".";
  if (folder.filename() == "checkpoints") folder = folder.parent_path().empty() ? "." : folder.parent_path();
  return folder;
}

// A checkpoint (complete or partial) in DIR/checkpoints, or "" when there is none.
std::string any_checkpoint(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) == 0) return e.path().string();
  }
  return "";
}

}  // namespace

po::options_description run_lock_options() {
  po::options_description l("Run-folder lock (--output)");
  l.add_options()
      ("lock-stale-minutes", po::value<int>()->default_value(30),
       "a run folder's lock (OUTPUT/munet.lock, refreshed every minute while its run lives) not refreshed for "
       "this many minutes is stale and taken over, in [1, 10080]; a lock whose process is gone on this host, or "
       "of this same Slurm job on another node (a requeue), is stale at once")
      ("break-lock", po::bool_switch(),
       "take the run folder's lock even though another process holds it (only when that process is known to be "
       "gone, e.g. its node died: two writers overwrite each other's checkpoints)");
  return l;
}

void check_evolve_paths(const po::variables_map& vm) {
  const int stale = vm["lock-stale-minutes"].as<int>();
  MUNET_CHECK(stale >= 1 && stale <= 10080, "--lock-stale-minutes must be in [1, 10080], got ", stale);
  std::vector<std::pair<std::string, std::string>> inputs = {{"--root", vm["root"].as<std::string>()},
                                                             {"--resume", vm["resume"].as<std::string>()}};
  if (vm.count("config")) inputs.push_back({"--config", vm["config"].as<std::string>()});
  std::stringstream tasks(vm["tasks"].as<std::string>());
  for (std::string t; std::getline(tasks, t, ',');) inputs.push_back({"--tasks", t});
  const std::string output = vm["output"].as<std::string>(), genealogy = vm["genealogy"].as<std::string>();
  const std::string resume = vm["resume"].as<std::string>();
  if (!genealogy.empty()) {
    check_file_writable("--genealogy", genealogy);
    refuse_output_is_input("--genealogy", genealogy, inputs);
  }
  if (output.empty()) return;
  check_folder_writable("--output", output);
  if (resume.empty()) return;
  const fs::path from = run_folder_of(resume);
  if (same_file(from.string(), output)) return;
  const std::string other = any_checkpoint(output);
  MUNET_CHECK(other.empty(), "--output ", output, " holds another run (", other, "), and --resume ", resume,
              " belongs to the run in ", from.string(), ": continuing it there would overwrite that run's "
              "checkpoints. Give an --output with no checkpoints, or --output ", from.string(), " to continue in "
              "place");
}

std::unique_ptr<RunLock> lock_run_folder(const po::variables_map& vm) {
  const std::string output = vm["output"].as<std::string>();
  if (output.empty()) return nullptr;
  std::error_code ec;
  fs::create_directories(output, ec);
  MUNET_CHECK(!ec, "--output ", output, ": cannot create the run folder: ", ec.message());
  return std::make_unique<RunLock>(output, vm["lock-stale-minutes"].as<int>(), vm["break-lock"].as<bool>());
}

int64_t checkpoint_bytes(const Evolution& evo, Communicator& comm) {
  int64_t mine = 0;
  for (const auto& [id, e] : evo.pool().entries())
    if (e.home == comm.rank())
      mine += e.component->size() * int64_t(sizeof(float)) * (e.component->has_optimizer_state() ? 2 : 1);
  int64_t total = 0;
  for (const std::string& s : comm.allgather(std::to_string(mine))) total += std::stoll(s);
  // Tables grow with the models sampled; HDF5 gathers metadata in 4 MiB blocks (checkpoint_write.cc).
  return total + total / 50 + int64_t(evo.models().size()) * 4096 + (16 << 20);
}

}  // namespace munet::app
