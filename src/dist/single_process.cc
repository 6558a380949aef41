// The single-process communicator: one rank, nothing to move.
#include "dist/communicator.h"

#include <cstdlib>

#include "util/error.h"

namespace munet {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "single"; }
  std::vector<std::string> allgather(const std::string& mine) override { return {mine}; }
  void broadcast(std::string&, int root) override {
    MUNET_CHECK(root == 0, "single-process broadcast from rank ", root);
  }
  bool any(bool flag) override { return flag; }
  void exchange(const std::vector<Transfer>& sends, const std::vector<Transfer>& receives) override {
    MUNET_CHECK(sends.empty() && receives.empty(), "single-process run asked to move parameters between ranks");
  }
  [[noreturn]] void abort(int status) override { std::exit(status); }
};

}  // namespace

std::unique_ptr<Communicator> single_process_communicator() { return std::make_unique<SingleProcess>(); }

}  // namespace munet
