// Comma-separated lists in options and checkpoint attributes (--tasks, mutate, momentum_values):
// one splitter, so that every list treats empty items alike (they are dropped).
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace munet {

inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace munet
