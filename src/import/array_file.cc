// ArrayFile::open, and the .npz container (through data/npz_reader).
#include "import/array_file.h"

#include <fstream>

#include "import/safetensors_file.h"
#include "data/npz_reader.h"
#include "util/error.h"

namespace munet {
namespace {

// A member's shape needs its .npy header, so the array whose shape was asked for last is kept
// for the read that usually follows (a large array is not extracted twice).
class NpzArrayFile : public ArrayFile {
 public:
  explicit NpzArrayFile(const std::string& path) : ArrayFile(path), npz_(path) {}
  const char* container() const override { return "npz"; }
  std::vector<std::string> names() const override { return npz_.names(); }
  bool has(const std::string& name) const override { return npz_.has(name); }
  std::vector<int64_t> shape(const std::string& name) const override { return array(name).shape(); }
  std::vector<float> read(const std::string& name) const override {
    std::vector<float> values = array(name).to_float32();
    last_.reset();
    return values;
  }

 private:
  const NpyArray& array(const std::string& name) const {
    if (!last_ || last_name_ != name) {
      last_.reset();
      last_ = std::make_unique<NpyArray>(npz_.read(name));
      last_name_ = name;
    }
    return *last_;
  }

  NpzArchive npz_;
  mutable std::string last_name_;
  mutable std::unique_ptr<NpyArray> last_;
};

}  // namespace

std::unique_ptr<ArrayFile> ArrayFile::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MUNET_CHECK(in.good(), path, ": cannot open the checkpoint (missing or not readable)");
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4)
    return std::make_unique<NpzArrayFile>(path);
  return std::make_unique<SafetensorsFile>(path);
}

}  // namespace munet
