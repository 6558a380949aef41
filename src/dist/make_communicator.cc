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

// Tasks of the srun step this process belongs to (1 outside one).
int slurm_step_tasks() {
  const char* n = std::getenv("SLURM_STEP_NUM_TASKS");
  return n && std::getenv("SLURM_STEP_ID") ? std::atoi(n) : 1;
}

}  // namespace

std::string communicator_kinds() { return MUNET_MPI ? "auto, single, mpi" : "auto, single"; }

std::unique_ptr<Communicator> make_communicator(const std::string& kind) {
  MUNET_CHECK(kind == "auto" || kind == "single" || kind == "mpi" || kind == "nccl", "unknown communicator '",
              kind, "' (this build has: ", communicator_kinds(), ")");
  if (kind == "nccl")
    fail("--comm nccl is not used by munet evolve: the pool's components are held and exchanged in host "
         "memory, and each GPU rank copies the routes it trains to its device itself (--device cuda); "
         "use --comm mpi");
  const bool mpi = kind == "mpi" || (kind == "auto" && launched_by_mpi());
  // srun without an MPI plugin starts N copies that would each run the whole job alone.
  MUNET_CHECK(mpi || slurm_step_tasks() <= 1, "srun started ", slurm_step_tasks(),
              " tasks but no MPI (no PMI/PMIx in the environment): use srun --mpi=pmix (see srun --mpi=list) "
              "or mpirun inside the allocation, or --comm single for independent runs");
  if (!mpi) return single_process_communicator();
#if MUNET_MPI
  return std::make_unique<MpiCommunicator>();
#else
  fail("this munet was built without MPI (-DMUNET_MPI=OFF): run it as one process, or rebuild with MPI");
#endif
}

}  // namespace munet
