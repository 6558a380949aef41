// Errors that carry their context. Every failure a user can cause (a bad file, a bad option,
// a shape that does not fit) is thrown as munet::Error with a message naming what, where and why.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace munet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

}  // namespace munet

// Throws munet::Error built from the remaining arguments when cond is false.
#define MUNET_CHECK(cond, ...)                 \
  do {                                         \
    if (!(cond)) ::munet::fail(__VA_ARGS__);   \
  } while (0)
