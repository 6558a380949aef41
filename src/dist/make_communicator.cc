// Picks the communicator backend by name, as this build allows.
#include <cstdlib>

#include "dist/communicator.h"
#include "munet/build_config.h"
#include "util/error.h"
#if MUNET_MPI
#include "dist/mpi_communicator.h"
#endif

namespace munet {
namespace {

// True when an MPI launcher (mpiexec/mpirun, or srun with PMI/PMIx) started this process.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

std::string communicator_kinds() { return MUNET_MPI ? "auto, single, mpi" : "auto, single"; }

std::unique_ptr<Communicator> make_communicator(const std::string& kind) {
  MUNET_CHECK(kind == "auto" || kind == "single" || kind == "mpi" || kind == "nccl", "unknown communicator '",
              kind, "' (this build has: ", communicator_kinds(), ")");
  if (kind == "nccl")
    fail("--comm nccl moves parameters in GPU memory: it needs the CUDA backend, which this munet does not "
         "have yet; use --comm mpi");
  const bool mpi = kind == "mpi" || (kind == "auto" && launched_by_mpi());
  if (!mpi) return single_process_communicator();
#if MUNET_MPI
  return std::make_unique<MpiCommunicator>();
#else
  fail("this munet was built without MPI (-DMUNET_MPI=OFF): run it as one process, or rebuild with MPI");
#endif
}

}  // namespace munet
