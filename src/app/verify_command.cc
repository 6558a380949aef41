// `munet verify FILE...`: checks checkpoints, model files and task files end to end, every byte
// against its checksum (io/chunk_checksums.h, io/file_digest.h), and prints what it checked.
// Exits 1 when any file is damaged or unreadable, naming it and what is wrong, after checking all.
#include <cstdio>
#include <string>
#include <vector>

#include <hdf5.h>

#include "app/commands.h"
#include "app/options.h"
#include "io/checkpoint.h"
#include "io/hdf5_values.h"
#include "io/model_file.h"
#include "io/task_file.h"
#include "kernels/cpu/cpu_backend.h"

namespace munet::app {
namespace {

// The root `format` attribute ("" when there is none or the file is not HDF5: the readers say why).
std::string format_of(const std::string& path) {
  h5::quiet_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) return "";
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return "";
  h5::Handle file(f, H5Fclose);
  try {
    return h5::has_attr(file, "format") ? h5::read_string_attr(file, "format", {path, "/"}) : "";
  } catch (const Error&) {
    return "";
  }
}

std::string mb(int64_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MB", double(bytes) / 1e6);
  return s;
}

// Verifies one file and prints one line saying what was checked.
void verify_one(const std::string& path) {
  const std::string format = format_of(path);
  if (format == "munet-model") {
    CpuBackend backend(1);
    const ModelFile m = read_model_file(path, backend);  // verifies the digest and every chunk
    int64_t params = 0;
    for (const auto& c : m.components) params += c->size();
    if (m.original_posembed) params += m.original_posembed->size();
    std::printf("%s: model file (task %s), %zu components, %lld parameters: every attribute and parameter chunk "
                "matches its checksum\n", path.c_str(), m.task.c_str(), m.components.size() + (m.original_posembed ? 1 : 0),
                (long long)params);
  } else if (format == "munet-task") {
    const TaskData t = read_task_file(path);  // recomputes the content hash over the decoded arrays
    std::printf("%s: task file (task %s), %lld/%lld/%lld examples: content hash %s matches its images and labels\n",
                path.c_str(), t.name.c_str(), (long long)t.train.size, (long long)t.validation.size,
                (long long)t.test.size, t.content_hash.c_str());
  } else {  // a checkpoint, or whatever the checkpoint reader names it
    const CheckpointVerification v = verify_checkpoint(path);
    if (v.checksummed())
      std::printf("%s: checkpoint (format version %lld): %lld objects' attributes and tables, %lld components, "
                  "%lld parameter chunks (%s) match their checksums\n", path.c_str(), (long long)v.format_version,
                  (long long)v.objects, (long long)v.components, (long long)v.chunks, mb(v.bytes).c_str());
    else
      std::printf("%s: checkpoint (format version %lld, before checksums): %lld components (%s) read, nothing to "
                  "compare them with\n", path.c_str(), (long long)v.format_version, (long long)v.components,
                  mb(v.bytes).c_str());
  }
}

}  // namespace

int verify_command(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("file", po::value<std::vector<std::string>>(),
                                                           "checkpoint, model file or task file");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet verify FILE...\nReads every byte of each checkpoint, model file or task file and "
                     "checks it against the file's checksums; prints what it checked, or what is damaged (the file, "
                     "the object, the chunk and both hashes). Exits 1 if any file is damaged or unreadable.",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("file"), "munet verify: name at least one file");
  int damaged = 0;
  for (const std::string& path : vm["file"].as<std::vector<std::string>>()) {
    try {
      verify_one(path);
    } catch (const Error& e) {
      std::fprintf(stderr, "DAMAGED %s\n", e.what());
      ++damaged;
    }
    std::fflush(stdout);
  }
  return damaged ? 1 : 0;
}

}  // namespace munet::app
