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

std::string newest_checkpoint(const std::string& output_dir, std::vector<std::string>* skipped) {
  for (const auto& [gens, path] : listed(output_dir)) {
    try {
      verify_checkpoint(path);
      return path;
    } catch (const Error& e) {
      if (skipped) skipped->push_back(e.what());
    }
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
