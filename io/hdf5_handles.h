// RAII ownership of HDF5 identifiers, and checks that turn HDF5 failures into munet::Error
// naming the file and the object (HDF5's own error printing is switched off by munet).
#pragma once
#include <hdf5.h>

#include <string>
#include <utility>

#include "util/error.h"

namespace munet::h5 {

// Owns one hid_t and closes it with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    reset();
    id_ = std::exchange(o.id_, H5I_INVALID_HID);
    close_ = o.close_;
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  operator hid_t() const { return id_; }  // NOLINT: handles are used where HDF5 wants ids

 private:
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

// Silences HDF5's automatic error printing for this process (munet reports errors itself).
void quiet_errors();

// Call first in main, before any other HDF5 call: HDF5 does not close files at exit. munet closes
// every file itself; a file whose close failed (a full disk) made HDF5's exit handler crash.
void no_close_at_exit();

// Returns a handle for id, or throws naming `what` in `path` when id < 0 (a full disk or quota is
// named as such: "no space left on device writing <path>").
Handle check(hid_t id, herr_t (*close)(hid_t), const std::string& path, const std::string& what);
void check(herr_t status, const std::string& path, const std::string& what);

}  // namespace munet::h5
