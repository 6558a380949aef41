// HDF5 handle checks.
#include "io/hdf5_handles.h"

namespace munet::h5 {

void quiet_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle check(hid_t id, herr_t (*close)(hid_t), const std::string& path, const std::string& what) {
  if (id < 0) fail(path, ": ", what);
  return Handle(id, close);
}

void check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) fail(path, ": ", what);
}

}  // namespace munet::h5
