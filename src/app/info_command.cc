// `munet info`: what this build contains (backends, MPI, NCCL), the CPU backend's threads and
// BLAS, and where the datasets are found.
#include <iostream>

#include "app/commands.h"
#include "app/options.h"
#include "data/tasks.h"
#include "kernels/backend.h"
#include "munet/build_config.h"
#if MUNET_CUDA
#include "kernels/cuda/devices.h"
#endif
#if MUNET_MPI
#include <mpi.h>
#endif

namespace munet::app {

int info_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")(
      "data", po::value<std::string>()->default_value("", "$MUNET_DATA"), "dataset folder to check");
  po::variables_map vm;
  if (!parse_options(argc, argv, "usage: munet info [options]\nShows how this munet was built and what it finds.", opts, vm))
    return 0;
  std::cout << "munet " << MUNET_VERSION << "\n"
            << "build: CUDA " << (MUNET_CUDA ? "on" : "off") << ", MPI " << (MUNET_MPI ? "on" : "off")
            << ", NCCL " << (MUNET_NCCL ? "on" : "off") << "\n"
            << "cpu backend: " << make_cpu_backend(0)->describe() << "\n";
#if MUNET_MPI
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  std::string first_line(mpi, len);
  first_line = first_line.substr(0, first_line.find_first_of("\r\n,"));
  std::cout << "mpi: " << first_line << "\n";
#endif
#if MUNET_CUDA
  const CudaDevices cuda = cuda_devices();
  if (cuda.devices.empty()) std::cout << "cuda: no usable device (" << cuda.problem << ")\n";
  for (const CudaDevice& d : cuda.devices)
    std::cout << "cuda device " << d.index << ": " << d.name << ", " << (d.memory_bytes >> 20)
              << " MiB, compute " << d.compute_major << "." << d.compute_minor << ", "
              << d.multiprocessors << " SMs\n";
#endif
  try {
    std::cout << "data: " << find_data_root(vm["data"].as<std::string>()) << "\n";
  } catch (const Error& e) {
    std::cout << "data: not found (" << e.what() << ")\n";
  }
  return 0;
}

}  // namespace munet::app
