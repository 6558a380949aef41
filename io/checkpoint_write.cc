// Writing a checkpoint in two phases. Phase 1, every rank: create the file (MPI-IO when several
// ranks write), create every component's group and datasets (collectively), and write the
// values of the components this rank owns, one component at a time. Phase 2, rank 0 alone
// through the POSIX driver: the tables (config, tasks, progress, models, pool index), then the
// /digest over every attribute and table (io/file_digest.h), the `complete` attribute, flush,
// fsync and rename. Each rank hashes the chunks it writes (io/chunk_checksums.h) into a dataset
// beside them, so phase 2 gathers nothing. Variable-length strings are only written in
// phase 2, which parallel HDF5 could not write.
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "munet/build_config.h"
#include "io/checkpoint.h"
#include "io/checkpoint_layout.h"
#include "io/chunk_checksums.h"
#include "io/component_datasets.h"
#include "io/file_digest.h"
#include "util/publish_file.h"

namespace munet {
namespace {

using h5::check;
using h5::Handle;
using h5::Where;

Handle create_group(hid_t parent, const std::string& name, const Where& w) {
  return check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, w.file,
               cat("cannot create group ", name));
}

std::vector<int64_t> ints(const std::vector<int>& v) { return {v.begin(), v.end()}; }

// Phase 1: the pool's components, values streamed from where they live.
void write_pool_values(const std::string& tmp, const Evolution& evo, const ParallelIo& io, const IoProgress& progress) {
  Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, tmp, "cannot make a property list");
  Handle dxpl = check(H5Pcreate(H5P_DATASET_XFER), H5Pclose, tmp, "cannot make a property list");
#ifdef H5_HAVE_PARALLEL
  if (io.parallel()) {
    check(H5Pset_fapl_mpio(fapl, io.comm, MPI_INFO_NULL), tmp, "cannot use MPI-IO");
    check(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT), tmp, "cannot set independent MPI-IO");
  }
#else
  MUNET_CHECK(!io.parallel(), "this munet's HDF5 has no MPI-IO: a checkpoint is written by one process");
#endif
  // Objects of 64 KiB and more start on 4 KiB boundaries: whole file-system blocks.
  check(H5Pset_alignment(fapl, 1 << 16, 1 << 12), tmp, "cannot set alignment");
  h5::use_checksummed_format(fapl, {tmp, "/"});
  // Metadata (object headers, chunk indexes) gathers in 4 MiB blocks instead of lying between the
  // parameters: a reader walks it in a few sequential reads, not thousands of scattered ones.
  check(H5Pset_meta_block_size(fapl, 4 << 20), tmp, "cannot set the metadata block size");
  Handle file = check(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose, tmp,
                      "cannot create checkpoint file");
  const Where root{tmp, "/"};
  h5::write_attr(file, "format", std::string(kCheckpointFormat), root);
  h5::write_attr(file, "format_version", int64_t(kCheckpointVersion), root);
  Handle pool = create_group(file, "pool", root);
  Handle comps = create_group(pool, "components", {tmp, "/pool"});
  const LayerPool& lp = evo.pool();
  const int patch = evo.config().root.patch;
  int64_t total = 0, done = 0;
  for (const auto& [id, e] : lp.entries())
    if (io.writer(id) == io.rank)
      total += e.component->size() * int64_t(sizeof(float)) * (e.component->has_optimizer_state() ? 2 : 1);
  Tensor staging;
  for (const auto& [id, e] : lp.entries()) {
    const Component& c = *e.component;
    MUNET_CHECK(c.dtype() == DType::F32, "checkpoint: component ", id, " is not float32");
    const Where w{tmp, component_path(id)};
    Handle g = create_group(comps, component_group_name(id), w);
    h5::write_component_meta(g, h5::meta_of(c, patch), w);
    h5::write_attr(g, "id", int64_t(id), w);
    h5::write_attr(g, "owner", int64_t(e.owner), w);
    h5::write_attr(g, "locks", std::vector<int64_t>(e.locks.begin(), e.locks.end()), w);
    h5::write_attr(g, "size", int64_t(c.size()), w);
    // Every rank creates every dataset (collective); the writer, which holds the component, fills them.
    const bool mine = io.writer(id) == io.rank;
    MUNET_CHECK(!mine || c.resident(), "checkpoint: rank ", io.rank, " is to write component ", id,
                " but does not hold it");
    std::vector<std::pair<std::string, const Tensor*>> parts = {{"values", mine ? &c.values() : nullptr}};
    if (c.has_optimizer_state()) parts.emplace_back("velocity", mine ? &c.optimizer_state() : nullptr);
    for (const auto& [part, tensor] : parts) {
      const Where pw{tmp, w.object + "/" + part};
      Handle pg = create_group(g, part, pw);
      h5::create_param_datasets(pg, c.layout(), pw);
      const std::string sums = h5::checksum_dataset_name(part);
      h5::create_checksum_dataset(g, sums, h5::chunk_count(c.layout()), w);
      if (!mine) continue;
      const float* data = nullptr;
      if (tensor->device() == DeviceType::CPU) {
        data = tensor->data<float>();
      } else {  // one component's staging copy at a time
        if (!staging.defined() || staging.numel() < tensor->numel()) staging = Tensor::host({tensor->numel()}, DType::F32);
        Tensor view = staging.view(0, tensor->shape());
        evo.backend().copy(*tensor, view);
        data = staging.data<float>();
      }
      // Hashed on a second thread while written (write_param_values): off the write's critical path.
      std::vector<uint64_t> hashes;
      h5::write_param_values(pg, c.layout(), data, dxpl, pw, &hashes);
      h5::write_checksums(g, sums, hashes, dxpl, w);
      done += c.size() * int64_t(sizeof(float));
    }
    if (io.writer(id) == io.rank && progress) progress(done, total);
  }
  check(H5Fflush(file, H5F_SCOPE_GLOBAL), tmp, "cannot flush");
}

void write_config(hid_t file, const EvolutionState& st, const std::string& tmp) {
  const Where w{tmp, "/config"};
  Handle g = create_group(file, "config", {tmp, "/"});
  std::vector<std::string> names;
  for (const TaskSignature& t : st.tasks) names.push_back(t.name);
  h5::write_attr(g, "tasks", names, w);
  for (const ConfigShape& f : kConfigShape) h5::write_attr(g, f.name, int64_t(st.config.root.*f.field), w);
  write_config_fields(g, st.config, w);
}

void write_tasks(hid_t file, const Evolution& evo, const std::string& tmp) {
  const EvolutionState& st = evo.state();
  const Where w{tmp, "/tasks"};
  Handle g = create_group(file, "tasks", {tmp, "/"});
  std::vector<std::string> name, source, hash, task_file, task_copy;
  std::vector<int64_t> stage, joined_at, classes, train, val, test, best, activated, owned;
  std::vector<double> val_acc, test_acc, share;
  for (size_t t = 0; t < st.tasks.size(); ++t) {
    name.push_back(st.tasks[t].name);
    source.push_back(st.tasks[t].source);
    hash.push_back(st.tasks[t].content_hash);
    task_file.push_back(st.tasks[t].file);
    task_copy.push_back(st.tasks[t].copy);
    stage.push_back(st.tasks[t].stage);
    joined_at.push_back(st.tasks[t].joined_at);
    classes.push_back(st.tasks[t].num_classes);
    train.push_back(st.tasks[t].train);
    val.push_back(st.tasks[t].validation);
    test.push_back(st.tasks[t].test);
  }
  for (const TaskSummary& s : evo.summaries()) {
    best.push_back(s.best);
    val_acc.push_back(s.best == kNoModel ? -1.0 : s.validation_accuracy);
    test_acc.push_back(s.best == kNoModel ? -1.0 : s.test_accuracy);
    activated.push_back(s.activated_params);
    owned.push_back(s.owned_params);
    share.push_back(s.activated_share);
  }
  h5::write_column(g, "name", name, w);
  h5::write_column(g, "source", source, w);
  h5::write_column(g, "content_hash", hash, w);
  h5::write_column(g, "task_file", task_file, w);
  h5::write_column(g, "task_copy", task_copy, w);
  h5::write_column(g, "stage", stage, w);
  h5::write_column(g, "joined_at", joined_at, w);
  h5::write_column(g, "num_classes", classes, w);
  h5::write_column(g, "train_examples", train, w);
  h5::write_column(g, "validation_examples", val, w);
  h5::write_column(g, "test_examples", test, w);
  h5::write_column(g, "best_model", best, w);
  h5::write_column(g, "children", ints(st.children), w);
  h5::write_column(g, "accepted", ints(st.accepted), w);
  h5::write_column(g, "validation_accuracy", val_acc, w);
  h5::write_column(g, "test_accuracy", test_acc, w);
  h5::write_column(g, "activated_params", activated, w);
  h5::write_column(g, "owned_params", owned, w);
  h5::write_column(g, "activated_share", share, w);
}

void write_progress(hid_t file, const Evolution& evo, const std::string& tmp) {
  const EvolutionState& st = evo.state();
  const Where w{tmp, "/progress"};
  Handle g = create_group(file, "progress", {tmp, "/"});
  h5::write_attr(g, "iteration", int64_t(st.progress.iteration), w);
  h5::write_attr(g, "task", int64_t(st.progress.task), w);
  h5::write_attr(g, "generation", int64_t(st.progress.generation), w);
  h5::write_attr(g, "generations_done", evo.generations_done(), w);
  h5::write_attr(g, "total_generations", evo.total_generations(), w);
  h5::write_attr(g, "next_model", int64_t(st.next_model), w);
  h5::write_attr(g, "next_component", int64_t(evo.pool().next_id()), w);
  h5::write_attr(g, "root_model", int64_t(st.root), w);
  h5::write_attr(g, "turn_seed_start", int64_t(st.turn.seed_start), w);
  h5::write_attr(g, "score_base", st.score.base, w);
  h5::write_attr(g, "score_flops_factor", int64_t(st.score.flops_factor), w);
  h5::write_attr(g, "score_flops_base", st.score.flops_base, w);
  h5::write_attr(g, "score_root_params", st.score.root_params, w);
  h5::write_attr(g, "score_root_flops", st.score.root_flops, w);
  std::vector<int64_t> own_id, seeds(st.turn.seeds.begin(), st.turn.seeds.end()), off_task, off_model, off_count;
  std::vector<double> own_score;
  for (const auto& [id, s] : st.turn.own) own_id.push_back(id), own_score.push_back(s);
  for (size_t t = 0; t < st.offspring.size(); ++t)
    for (const auto& [m, n] : st.offspring[t]) off_task.push_back(int64_t(t)), off_model.push_back(m), off_count.push_back(n);
  h5::write_column(g, "turn_own_model", own_id, w);
  h5::write_column(g, "turn_own_score", own_score, w);
  h5::write_column(g, "turn_seeds", seeds, w);
  h5::write_column(g, "offspring_task", off_task, w);
  h5::write_column(g, "offspring_model", off_model, w);
  h5::write_column(g, "offspring_count", off_count, w);
}

void write_models(hid_t file, const Evolution& evo, const std::string& tmp) {
  const EvolutionState& st = evo.state();
  const Where w{tmp, "/models"};
  Handle g = create_group(file, "models", {tmp, "/"});
  ModelColumns c;
  for (const auto& [id, m] : st.models) c.add(m);
  c.write(g, evo.space(), w);
}

void write_pool_index(hid_t file, const LayerPool& pool, const std::string& tmp) {
  const Where w{tmp, "/pool/index"};
  Handle pg = h5::open_group(file, "pool", {tmp, "/"});
  h5::write_attr(pg, "components", int64_t(pool.size()), {tmp, "/pool"});
  h5::write_attr(pg, "parameters", pool.total_params(), {tmp, "/pool"});
  Handle g = create_group(pg, "index", w);
  std::vector<int64_t> id, owner, size, velocity, lock_offsets{0}, lock_task;
  std::vector<std::string> name, kind;
  for (const auto& [cid, e] : pool.entries()) {
    id.push_back(cid);
    name.push_back(e.component->name());
    kind.push_back(kind_name(e.component->kind()));
    owner.push_back(e.owner);
    size.push_back(e.component->size());
    velocity.push_back(e.component->has_optimizer_state());
    lock_task.insert(lock_task.end(), e.locks.begin(), e.locks.end());
    lock_offsets.push_back(int64_t(lock_task.size()));
  }
  h5::write_column(g, "id", id, w);
  h5::write_column(g, "name", name, w);
  h5::write_column(g, "kind", kind, w);
  h5::write_column(g, "owner", owner, w);
  h5::write_column(g, "size", size, w);
  h5::write_column(g, "has_velocity", velocity, w);
  h5::write_column(g, "lock_offsets", lock_offsets, w);
  h5::write_column(g, "lock_task", lock_task, w);
}

void write_run_info(hid_t file, const RunInfo& info, double write_seconds, const std::string& tmp) {
  const Where w{tmp, "/run_info"};
  Handle g = create_group(file, "run_info", {tmp, "/"});
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  char when[64] = "";
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  h5::write_attr(g, "munet_version", std::string(MUNET_VERSION), w);
  h5::write_attr(g, "command_line", info.command_line, w);
  h5::write_attr(g, "root_file", info.root_file, w);
  h5::write_attr(g, "ranks", int64_t(info.ranks), w);
  h5::write_attr(g, "host", std::string(host), w);
  h5::write_attr(g, "written_at", std::string(when), w);
  h5::write_attr(g, "pool_write_seconds", write_seconds, w);
}

void barrier(const ParallelIo& io) {
#ifdef H5_HAVE_PARALLEL
  if (io.parallel()) MPI_Barrier(io.comm);
#else
  (void)io;
#endif
}

}  // namespace

void write_checkpoint(const std::string& path, const Evolution& evo, const RunInfo& info, const ParallelIo& io,
                      const IoProgress& progress) {
  h5::quiet_errors();
  const std::string tmp = partial_name(path);
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  const auto t0 = std::chrono::steady_clock::now();
  write_pool_values(tmp, evo, io, progress);
  barrier(io);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string error;
  if (io.rank == 0) {
    try {
      {
        Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, tmp, "cannot make a property list");
        h5::use_checksummed_format(fapl, {tmp, "/"});
        Handle file = check(H5Fopen(tmp.c_str(), H5F_ACC_RDWR, fapl), H5Fclose, tmp, "cannot reopen checkpoint");
        write_config(file, evo.state(), tmp);
        write_tasks(file, evo, tmp);
        write_progress(file, evo, tmp);
        write_models(file, evo, tmp);
        write_pool_index(file, evo.pool(), tmp);
        write_run_info(file, info, seconds, tmp);
        h5::write_digest_table(file, is_parameter_dataset, {tmp, "/"});  // over all of the above
        check(H5Fflush(file, H5F_SCOPE_GLOBAL), tmp, "cannot flush");
        h5::write_attr(file, "complete", int64_t(1), {tmp, "/"});  // last: marks the file complete
        check(H5Fflush(file, H5F_SCOPE_GLOBAL), tmp, "cannot flush");
      }
      publish_file(tmp, path);
    } catch (const Error& e) {
      error = e.what();
    }
  }
#ifdef H5_HAVE_PARALLEL
  if (io.parallel()) {  // every rank learns whether rank 0 finished the file
    int failed = !error.empty();
    MPI_Bcast(&failed, 1, MPI_INT, 0, io.comm);
    MUNET_CHECK(!failed, io.rank == 0 ? error : cat("rank 0 could not finish checkpoint ", path));
    return;
  }
#endif
  MUNET_CHECK(error.empty(), error);
}

}  // namespace munet
