// Parallel HDF5 checkpoints: every rank holds the same evolution, each writes the values of the
// components it owns (id mod ranks) into one file through MPI-IO, and a single process reads
// it back bit-identically and resumes it to the same end as a run that was never stopped; a
// checkpoint written by one process is the same file, parameter for parameter.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>

#include "evo/ranks.h"
#include "io/checkpoint.h"
#include "kernels/cpu/cpu_backend.h"
#include "support/data_root.h"
#include "support/evolution_fingerprint.h"

namespace munet {
namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// A folder every rank agrees on (made by rank 0, its name broadcast).
std::string shared_folder() {
  char name[256] = "";
  if (world_rank() == 0) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "munet_mpi_XXXXXX").string();
    MUNET_CHECK(mkdtemp(tmpl.data()) != nullptr, "cannot make a temporary folder");
    std::snprintf(name, sizeof name, "%s", tmpl.c_str());
  }
  MPI_Bcast(name, sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
  return name;
}

TEST(ParallelCheckpoint, RanksWriteTheirComponentsIntoOneFile) {
  MUNET_REQUIRE_DATA_ROOT(root);
  ASSERT_GE(world_size(), 2) << "run under mpiexec -n 2 or more";
  const std::string dir = shared_folder();
  CpuBackend be(1);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  for (int g = 0; g < 3; ++g) evo.step();  // mid-turn: sampler state and momentum included

  ParallelIo io;
  io.rank = world_rank();
  io.size = world_size();
  io.comm = MPI_COMM_WORLD;
  io.writer_of = [&](ComponentId id) { return home_rank(id, io.size); };
  int64_t mine = 0;
  const std::string parallel = dir + "/parallel.h5";
  write_checkpoint(parallel, evo, {}, io, [&](int64_t done, int64_t) { mine = done; });
  int64_t total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  int64_t bytes = 0;
  for (const auto& [id, e] : evo.pool().entries())
    bytes += e.component->size() * 4 * (e.component->has_optimizer_state() ? 2 : 1);
  EXPECT_EQ(total, bytes) << "the ranks together wrote every component once";
  EXPECT_GT(mine, 0) << "rank " << io.rank << " wrote nothing";

  if (io.rank == 0) {
    // One process reads the file, gets the same state, and resumes it to the straight run's end.
    write_checkpoint(dir + "/serial.h5", evo, {});
    Checkpoint a = read_checkpoint(parallel, be), b = read_checkpoint(dir + "/serial.h5", be);
    Evolution from_parallel(be, be.pool(), std::move(a.state), std::move(a.pool), test::two_character_tasks(root),
                            nullptr);
    Evolution from_serial(be, be.pool(), std::move(b.state), std::move(b.pool), test::two_character_tasks(root),
                          nullptr);
    EXPECT_EQ(test::fingerprint(from_parallel), test::fingerprint(evo));
    EXPECT_EQ(test::fingerprint(from_serial), test::fingerprint(evo));
    from_parallel.run();
    Evolution straight(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
    straight.run();
    EXPECT_EQ(test::fingerprint(from_parallel), test::fingerprint(straight));
    std::filesystem::remove_all(dir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace munet
