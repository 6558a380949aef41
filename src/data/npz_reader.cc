// NpzArchive: maps array names to "<name>.npy" zip members and parses them as NpyArray.
#include "data/npz_reader.h"

#include "util/error.h"

namespace munet {
namespace {

constexpr char kSuffix[] = ".npy";
constexpr size_t kSuffixSize = 4;

bool is_npy_member(const std::string& name) {
  return name.size() > kSuffixSize &&
         name.compare(name.size() - kSuffixSize, kSuffixSize, kSuffix) == 0;
}

}  // namespace

NpzArchive::NpzArchive(std::string path) : zip_(std::move(path)) {}

std::vector<std::string> NpzArchive::names() const {
  std::vector<std::string> out;
  for (const std::string& member : zip_.names())
    if (is_npy_member(member)) out.push_back(member.substr(0, member.size() - kSuffixSize));
  return out;
}

bool NpzArchive::has(const std::string& array) const { return zip_.has(array + kSuffix); }

NpyArray NpzArchive::read(const std::string& array) const {
  if (!has(array)) {
    std::string held;
    for (const std::string& name : names()) held += (held.empty() ? "" : ", ") + name;
    fail(path(), ": array '", array,
         "' not found (archive holds: ", held.empty() ? "no arrays" : held, ")");
  }
  return NpyArray(zip_.read(array + kSuffix), cat(path(), ": array '", array, "'"));
}

}  // namespace munet
