// Checkpoint folder scanning and pruning.
#include "io/checkpoint_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "io/checkpoint.h"

namespace munet {
namespace {

namespace fs = std::filesystem;

std::string folder(const std::string& output_dir) { return (fs::path(output_dir) / "checkpoints").string(); }

// (generations, path) of every complete-named checkpoint, newest first.
std::vector<std::pair<long long, std::string>> listed(const std::string& output_dir) {
  std::vector<std::pair<long long, std::string>> out;
  std::error_code ec;
  const std::regex name("ckpt-([0-9]+)\\.h5");
  for (const auto& entry : fs::directory_iterator(folder(output_dir), ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name)) out.emplace_back(std::stoll(m[1]), entry.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

std::string checkpoint_path(const std::string& output_dir, long long generations_done) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt-%06lld.h5", generations_done);
  return (fs::path(folder(output_dir)) / name).string();
}

std::string read_newest_checkpoint(const std::string& output_dir, Communicator& comm,
                                   const std::function<void(const std::string&, const CheckpointInfo&)>& accept,
                                   const std::function<void(const std::string&)>& read,
                                   const std::function<void(const std::string& why)>& skipped) {
  // One list for every rank (file systems may show them different views), '\0'-separated.
  std::string names;
  if (comm.rank() == 0)
    for (const auto& [gens, path] : listed(output_dir)) names += path + '\0';
  comm.broadcast(names, 0);
  for (size_t at = 0, end; (end = names.find('\0', at)) != std::string::npos; at = end + 1) {
    const std::string path = names.substr(at, end - at);
    std::string why;
    bool tables = false;
    try {
      const CheckpointInfo info = read_checkpoint_info(path);
      tables = true;
      accept(path, info);  // outside the fallback: a refusal is not a damaged file
    } catch (const Error& e) {
      if (tables) throw;
      why = e.what();
    }
    if (why.empty()) {
      try {
        read(path);
      } catch (const Error& e) {
        why = e.what();
      }
    }
    for (const std::string& error : comm.allgather(why))
      if (!error.empty()) {
        why = error;
        break;
      }
    if (why.empty()) return path;
    skipped(why);
  }
  return "";
}

void prune_checkpoints(const std::string& output_dir, int keep) {
  const auto all = listed(output_dir);
  std::error_code ec;
  for (size_t i = std::max(keep, 1); i < all.size(); ++i) fs::remove(all[i].second, ec);
  for (const auto& entry : fs::directory_iterator(folder(output_dir), ec))
    if (entry.path().extension() == ".partial") fs::remove(entry.path(), ec);
}

}  // namespace munet
