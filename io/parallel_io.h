// The processes that write one HDF5 file together. With a parallel HDF5 build (MPI-IO) several
// ranks create the file's objects collectively and each writes the values it owns; otherwise,
// or with one rank, the file is written by one process through the ordinary POSIX driver.
#pragma once
#include <hdf5.h>

#include <functional>

#include "pool/layer_pool.h"

namespace munet {

struct ParallelIo {
  int rank = 0, size = 1;
#ifdef H5_HAVE_PARALLEL
  MPI_Comm comm = MPI_COMM_SELF;
#endif
  // The rank that writes a component's values (its owner in a sharded pool); every component
  // is written by rank 0 when unset.
  std::function<int(ComponentId)> writer_of;

  int writer(ComponentId id) const { return writer_of ? writer_of(id) : 0; }
  bool parallel() const { return size > 1; }
};

}  // namespace munet
