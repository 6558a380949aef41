// Reading a checkpoint: header checks (HDF5, format, version, complete), the state tables, the
// pool index, and the components' values, each against the shape its metadata implies.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "io/checkpoint.h"
#include "io/checkpoint_layout.h"
#include "io/chunk_checksums.h"
#include "io/component_datasets.h"
#include "io/file_digest.h"

namespace munet {
namespace {

using h5::check;
using h5::Handle;
using h5::Where;

// Threads reading parameters: reads are I/O bound, and fresh memory fills fastest with several
// threads faulting pages in at once. More reads stay in flight while some threads copy and hash:
// on this 2-core machine's virtual disk, 8 read a 4 GB checkpoint in 3.65 s on average against
// 4.25 s with 4 (12 fresh-process reads each, alternating); each holds a 32 MiB bounce buffer.
constexpr int kReadThreads = 8;

// Whether a checkpoint's /digest is checked when it is opened (every reader but the whole-pool one,
// which checks it while its parameter reads are in flight).
enum class Digest { on_open, by_caller };

// Whether a checkpoint's checksums are verified when it is read: its chunks' tables and its /digest.
bool checksums_checked(int64_t version) {
  return version >= kChecksummedCheckpointVersion && h5::chunk_checksums_on();
}

// Checks the file's /digest over every table and attribute (parameter datasets have their own).
void verify_digest(hid_t file, const std::string& path) {
  h5::verify_digest_table(file, is_parameter_dataset, {path, "/"});
}

// Opens a complete munet checkpoint; `version` gets its format version.
Handle open_checkpoint(const std::string& path, int64_t* version = nullptr, Digest digest = Digest::on_open) {
  h5::quiet_errors();
  MUNET_CHECK(::access(path.c_str(), R_OK) == 0, path, ": cannot read checkpoint (missing or not readable)");
  MUNET_CHECK(H5Fis_hdf5(path.c_str()) > 0, path, ": not an HDF5 file");
  Handle file = check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path,
                      "cannot open HDF5 file (truncated or damaged?)");
  const Where root{path, "/"};
  MUNET_CHECK(h5::has_attr(file, "format"), path, ": not a munet checkpoint (no 'format' attribute)");
  const std::string format = h5::read_string_attr(file, "format", root);
  MUNET_CHECK(format == kCheckpointFormat, path, ": not a munet checkpoint (format '", format, "')");
  const int64_t v = h5::read_int_attr(file, "format_version", root);
  MUNET_CHECK(v >= kOldestCheckpointVersion && v <= kCheckpointVersion, path, ": checkpoint format version ", v,
              ", this munet reads versions ", kOldestCheckpointVersion, " to ", kCheckpointVersion);
  if (version) *version = v;
  MUNET_CHECK(h5::has_attr(file, "complete") && h5::read_int_attr(file, "complete", root) == 1, path,
              ": incomplete checkpoint (its writer stopped before marking it complete)");
  if (digest == Digest::on_open && checksums_checked(v)) verify_digest(file, path);
  return file;
}

EvolutionConfig read_config(hid_t file, int64_t version, std::vector<std::string>* task_names, const std::string& path) {
  const Where w{path, "/config"};
  Handle g = h5::open_group(file, "config", {path, "/"});
  EvolutionConfig c;
  *task_names = h5::read_strings_attr(g, "tasks", w);
  for (const ConfigShape& f : kConfigShape) c.root.*f.field = int(h5::read_int_attr(g, f.name, w));
  read_config_fields(g, version, c, w);
  try {
    c.validate();
  } catch (const Error& e) {
    fail(path, ": /config: ", e.what());
  }
  return c;
}

std::vector<int> to_ints(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

CheckpointInfo read_info(hid_t file, int64_t version, const std::string& path) {
  CheckpointInfo info;
  info.format_version = version;
  EvolutionState& st = info.state;
  std::vector<std::string> names;
  st.config = read_config(file, version, &names, path);
  const int64_t T = int64_t(names.size());
  const HpSpace space = st.config.space();

  {  // tasks
    const Where w{path, "/tasks"};
    Handle g = h5::open_group(file, "tasks", {path, "/"});
    const auto name = h5::read_string_column(g, "name", T, w);
    const auto classes = h5::read_int_column(g, "num_classes", T, w);
    const auto train = h5::read_int_column(g, "train_examples", T, w);
    const auto val = h5::read_int_column(g, "validation_examples", T, w);
    const auto test = h5::read_int_column(g, "test_examples", T, w);
    st.best = h5::read_int_column(g, "best_model", T, w);
    st.children = to_ints(h5::read_int_column(g, "children", T, w));
    st.accepted = to_ints(h5::read_int_column(g, "accepted", T, w));
    // Where each task came from: absent in checkpoints written before task files.
    auto optional_strings = [&](const char* column) {
      return H5Lexists(g, column, H5P_DEFAULT) > 0 ? h5::read_string_column(g, column, T, w)
                                                  : std::vector<std::string>(size_t(T));
    };
    const auto source = optional_strings("source"), hash = optional_strings("content_hash"),
               task_file = optional_strings("task_file");
    // Stages, join points and copies: kStagedCheckpointVersion on; an older run is one stage that joined at 0.
    const bool staged = version >= kStagedCheckpointVersion;
    const auto task_copy = staged ? h5::read_string_column(g, "task_copy", T, w) : std::vector<std::string>(size_t(T));
    const auto stage = staged ? h5::read_int_column(g, "stage", T, w) : std::vector<int64_t>(size_t(T), 0);
    const auto joined_at = staged ? h5::read_int_column(g, "joined_at", T, w) : std::vector<int64_t>(size_t(T), 0);
    for (int64_t t = 0; t < T; ++t) {
      MUNET_CHECK(name[t] == names[t], path, ": /tasks/name[", t, "] is ", name[t], ", /config names ", names[t]);
      MUNET_CHECK(stage[t] == (t == 0 ? 0 : stage[t - 1]) || (t > 0 && stage[t] == stage[t - 1] + 1), path,
                  ": /tasks/stage[", t, "] = ", stage[t], " does not follow stage ", t == 0 ? 0 : stage[t - 1],
                  " (stages start at 0 and grow by one)");
      TaskSignature sig;
      sig.name = name[t];
      sig.num_classes = int(classes[t]);
      sig.train = train[t], sig.validation = val[t], sig.test = test[t];
      sig.source = source[t], sig.content_hash = hash[t], sig.file = task_file[t];
      sig.stage = int(stage[t]);
      sig.joined_at = joined_at[t];
      sig.copy = task_copy[t];
      st.tasks.push_back(sig);
    }
  }
  {  // progress, score and sampler state
    const Where w{path, "/progress"};
    Handle g = h5::open_group(file, "progress", {path, "/"});
    st.progress.iteration = int(h5::read_int_attr(g, "iteration", w));
    st.progress.task = int(h5::read_int_attr(g, "task", w));
    st.progress.generation = int(h5::read_int_attr(g, "generation", w));
    info.generations_done = h5::read_int_attr(g, "generations_done", w);
    info.total_generations = h5::read_int_attr(g, "total_generations", w);
    st.next_model = h5::read_int_attr(g, "next_model", w);
    info.next_component = h5::read_int_attr(g, "next_component", w);
    st.root = h5::read_int_attr(g, "root_model", w);
    st.turn.seed_start = size_t(h5::read_int_attr(g, "turn_seed_start", w));
    st.score.base = h5::read_double_attr(g, "score_base", w);
    st.score.flops_factor = h5::read_int_attr(g, "score_flops_factor", w) != 0;
    st.score.flops_base = h5::read_double_attr(g, "score_flops_base", w);
    st.score.root_params = h5::read_double_attr(g, "score_root_params", w);
    st.score.root_flops = h5::read_double_attr(g, "score_root_flops", w);
    const auto own = h5::read_int_column(g, "turn_own_model", -1, w);
    const auto own_score = h5::read_double_column(g, "turn_own_score", int64_t(own.size()), w);
    for (size_t i = 0; i < own.size(); ++i) st.turn.own.emplace_back(own[i], own_score[i]);
    const auto seeds = h5::read_int_column(g, "turn_seeds", -1, w);
    st.turn.seeds.assign(seeds.begin(), seeds.end());
    const auto off_task = h5::read_int_column(g, "offspring_task", -1, w);
    const auto off_model = h5::read_int_column(g, "offspring_model", int64_t(off_task.size()), w);
    const auto off_count = h5::read_int_column(g, "offspring_count", int64_t(off_task.size()), w);
    st.offspring.resize(T);
    for (size_t i = 0; i < off_task.size(); ++i) {
      MUNET_CHECK(off_task[i] >= 0 && off_task[i] < T, path, ": /progress/offspring_task[", i, "] = ", off_task[i],
                  " is not a task index");
      st.offspring[off_task[i]][off_model[i]] = int(off_count[i]);
    }
    const Progress& p = st.progress;
    MUNET_CHECK(p.iteration >= 0 && p.iteration <= st.config.turn_iterations() && p.task >= 0 && p.task < T &&
                    p.generation >= 0,
                path, ": /progress (iteration ", p.iteration, ", task ", p.task, ", generation ", p.generation,
                ") does not fit the config");
  }
  {  // models
    const Where w{path, "/models"};
    Handle g = h5::open_group(file, "models", {path, "/"});
    std::vector<std::string> want;
    for (int h = 0; h < kHpCount; ++h) want.push_back(space.spec(static_cast<Hp>(h)).name);
    MUNET_CHECK(h5::read_strings_attr(g, "hparam_names", w) == want, path,
                ": /models/hparams has other hyperparameter columns than this munet's");
    for (ModelRecord& m : ModelColumns::read(g, space, w)) {
      const ModelId id = m.id;
      MUNET_CHECK(m.task >= kRootTask && m.task < T, path, ": /models: model ", id, " has task ", m.task);
      st.models[id] = std::move(m);
    }
    MUNET_CHECK(st.models.count(st.root), path, ": /models has no root model ", st.root);
    for (ModelId b : st.best)
      MUNET_CHECK(b == kNoModel || st.models.count(b), path, ": /tasks/best_model names model ", b,
                  " that /models does not have");
  }
  {  // pool index
    const Where w{path, "/pool/index"};
    Handle g = h5::open_group(file, "pool/index", {path, "/"});
    const auto id = h5::read_int_column(g, "id", -1, w);
    const int64_t n = int64_t(id.size());
    const auto name = h5::read_string_column(g, "name", n, w);
    const auto kind = h5::read_string_column(g, "kind", n, w);
    const auto owner = h5::read_int_column(g, "owner", n, w);
    const auto size = h5::read_int_column(g, "size", n, w);
    const auto velocity = h5::read_int_column(g, "has_velocity", n, w);
    const auto lock_offsets = h5::read_int_column(g, "lock_offsets", n + 1, w);
    const auto lock_task = h5::read_int_column(g, "lock_task", lock_offsets.back(), w);
    for (int64_t i = 0; i < n; ++i) {
      PoolEntryInfo e;
      e.id = id[i];
      e.name = name[i];
      try {
        e.kind = parse_kind(kind[i]);
      } catch (const Error& err) {
        fail(path, ": /pool/index: component ", id[i], ": ", err.what());
      }
      e.owner = int(owner[i]);
      e.size = size[i];
      e.has_velocity = velocity[i] != 0;
      MUNET_CHECK(lock_offsets[i] <= lock_offsets[i + 1], path, ": /pool/index/lock_offsets is not a list of offsets");
      for (int64_t k = lock_offsets[i]; k < lock_offsets[i + 1]; ++k) e.locks.push_back(int(lock_task[k]));
      info.pool.push_back(e);
    }
  }
  {  // run information
    const Where w{path, "/run_info"};
    Handle g = h5::open_group(file, "run_info", {path, "/"});
    info.run.command_line = h5::read_string_attr(g, "command_line", w);
    info.run.root_file = h5::read_string_attr(g, "root_file", w);
    info.run.ranks = int(h5::read_int_attr(g, "ranks", w));
  }
  return info;
}

// Every model the run still uses must find its components in the pool read.
void check_routes(const Checkpoint& ck, const std::string& path) {
  std::set<ModelId> kept(ck.state.best.begin(), ck.state.best.end());
  kept.insert(ck.state.root);
  for (const auto& [id, s] : ck.state.turn.own) kept.insert(id);
  for (ModelId m : kept)
    if (m != kNoModel)
      for (ComponentId c : ck.state.models.at(m).route)
        MUNET_CHECK(ck.pool.contains(c), path, ": model ", m, " routes through component ", c,
                    " that /pool does not hold");
}

// Before reading the values of a checkpoint older than the checksums: says that they go unverified.
void warn_unverified(int64_t version, const std::string& path) {
  if (version >= kChecksummedCheckpointVersion) return;
  std::fprintf(stderr, "warning: %s: checkpoint format version %lld carries no checksums (they came with version %d): "
               "its parameters are read unverified\n", path.c_str(), (long long)version, kChecksummedCheckpointVersion);
}

// Reads a component (a shell when not `resident`); host-memory parameters stored raw are only
// queued in `plan`. From kChecksummedCheckpointVersion on, every chunk is verified against its checksum.
std::unique_ptr<Component> read_component(hid_t file, const PoolEntryInfo& e, const ViTConfig& system,
                                          Backend& backend, const std::string& path, h5::RawChunkReads& plan,
                                          int64_t version, bool resident = true) {
  const Where w{path, component_path(e.id)};
  Handle g = h5::open_group(file, w.object, {path, "/"});
  const h5::ComponentMeta meta = h5::read_component_meta(g, e.name, w);
  MUNET_CHECK(meta.kind == e.kind, path, ": ", w.object, " has kind ", kind_name(meta.kind), ", /pool/index says ",
              kind_name(e.kind));
  auto c = Component::shell(e.name, meta.kind, h5::layout_of(meta, system, w), backend, DType::F32, e.has_velocity);
  if (!resident) return c;
  // Memory left unset (every value is read into it): zeroing it first cost this thread a pass over
  // the pool and all its page faults, while the reading threads waited for the next component.
  c->make_resident(/*with_optimizer_state=*/true);
  MUNET_CHECK(c->size() == e.size, path, ": ", w.object, " holds ", c->size(), " parameters, /pool/index says ", e.size);
  // Straight into host memory (planned); through one component's staging buffer to a device.
  Tensor staging;
  auto read_into = [&](Tensor& dst, const char* part) {
    const bool on_host = dst.device() == DeviceType::CPU;
    if (!on_host && !staging.defined()) staging = Tensor::host(dst.shape(), DType::F32, /*zeroed=*/false);
    const bool checked = checksums_checked(version);
    const std::vector<uint64_t> sums =
        checked ? h5::read_checksums(g, h5::checksum_dataset_name(part), h5::chunk_count(c->layout()), w)
                : std::vector<uint64_t>();
    h5::read_param_values(h5::open_group(g, part, w), c->layout(), (on_host ? dst : staging).data<float>(),
                          {path, w.object + "/" + part}, on_host ? &plan : nullptr, checked ? &sums : nullptr);
    if (!on_host) backend.copy(staging, dst);
  };
  try {
    read_into(c->values(), "values");
    if (e.has_velocity) read_into(c->velocity(), "velocity");
  } catch (...) {
    plan.stop();  // no queued read may land in `c` once it is freed
    throw;
  }
  return c;
}

}  // namespace

CheckpointInfo read_checkpoint_info(const std::string& path) {
  int64_t version = 0;
  Handle file = open_checkpoint(path, &version);
  return read_info(file, version, path);
}

Checkpoint read_checkpoint(const std::string& path, Backend& backend, const IoProgress& progress,
                           const Shard& shard) {
  int64_t version = 0;
  Handle file = open_checkpoint(path, &version, Digest::by_caller);
  // The digest over every table and attribute is verified while the parameters are read (off their
  // critical path: at 1 B parameters its cold metadata reads took 0.11 s, 3% of the read). What
  // comes before it is read from those tables, so when any of that fails the digest is asked
  // first, and names the damage if there is some.
  bool digest_pending = checksums_checked(version);
  auto verify_pending_digest = [&] {
    digest_pending = false;
    verify_digest(file, path);
  };
  try {
    CheckpointInfo info = read_info(file, version, path);
    warn_unverified(version, path);
    Checkpoint ck{std::move(info.state), LayerPool(backend), std::move(info.run)};
    int64_t total = 0;
    for (const PoolEntryInfo& e : info.pool)
      if (shard.holds(e.id)) total += e.stored_bytes();
    h5::RawChunkReads plan(path, kReadThreads);
    std::set<ComponentId> seen;
    for (const PoolEntryInfo& e : info.pool)
      MUNET_CHECK(seen.insert(e.id).second, path, ": /pool/index lists component ", e.id, " twice");
    for (const PoolEntryInfo& e : info.pool) {
      PoolComponent entry;
      entry.id = e.id;
      entry.owner = e.owner;
      entry.locks.insert(e.locks.begin(), e.locks.end());
      entry.home = home_rank(e.id, shard.size);
      entry.component = read_component(file, e, ck.state.config.root, backend, path, plan, version, shard.holds(e.id));
      try {
        ck.pool.restore(std::move(entry), info.next_component);
      } catch (...) {
        plan.stop();  // reads queued into `entry` must not land after it is freed
        throw;
      }
    }
    if (digest_pending) verify_pending_digest();  // the plan's threads read meanwhile (see raw_chunk_reads.h)
    // What HDF5 did not read above is read by the plan's threads.
    const int64_t unplanned = total - plan.bytes();
    std::function<void(int64_t, int64_t)> report;
    if (progress) report = [&](int64_t done, int64_t) { progress(unplanned + done, total); };
    plan.finish(report);
    check_routes(ck, path);
    return ck;
  } catch (...) {
    if (digest_pending) verify_pending_digest();  // throws the digest's error where the tables were damaged
    throw;
  }
}

std::map<ComponentId, std::unique_ptr<Component>> read_components(const std::string& path,
                                                                  const std::vector<ComponentId>& ids,
                                                                  Backend& backend) {
  int64_t version = 0;
  Handle file = open_checkpoint(path, &version);
  CheckpointInfo info = read_info(file, version, path);
  warn_unverified(version, path);
  std::map<ComponentId, std::unique_ptr<Component>> out;
  h5::RawChunkReads plan(path, kReadThreads);
  for (ComponentId id : ids) {
    MUNET_CHECK(!out.count(id), path, ": component ", id, " asked for twice");
    auto it = std::find_if(info.pool.begin(), info.pool.end(), [&](const PoolEntryInfo& e) { return e.id == id; });
    MUNET_CHECK(it != info.pool.end(), path, ": /pool has no component ", id);
    out[id] = read_component(file, *it, info.state.config.root, backend, path, plan, version);
  }
  plan.finish();
  return out;
}

CheckpointVerification verify_checkpoint(const std::string& path) {
  CheckpointVerification v;
  Handle file = open_checkpoint(path, &v.format_version);  // checks /digest
  const CheckpointInfo info = read_info(file, v.format_version, path);
  v.objects = v.checksummed() ? h5::object_digests(file, is_parameter_dataset, {path, "/"}).size() : 0;
  std::vector<float> buffer;
  for (const PoolEntryInfo& e : info.pool) {
    const Where w{path, component_path(e.id)};
    Handle g = h5::open_group(file, w.object, {path, "/"});
    const std::vector<ParamSpec> layout = h5::layout_of(h5::read_component_meta(g, e.name, w), info.state.config.root, w);
    int64_t size = 0;
    for (const ParamSpec& p : layout) size += shape_numel(p.shape);
    MUNET_CHECK(size == e.size, path, ": ", w.object, " holds ", size, " parameters, /pool/index says ", e.size);
    buffer.resize(size_t(size));
    std::vector<const char*> parts = {"values"};
    if (e.has_velocity) parts.push_back("velocity");
    for (const char* part : parts) {
      std::vector<uint64_t> sums;
      if (v.checksummed()) sums = h5::read_checksums(g, h5::checksum_dataset_name(part), h5::chunk_count(layout), w);
      h5::RawChunkReads plan(path, kReadThreads);
      h5::read_param_values(h5::open_group(g, part, w), layout, buffer.data(), {path, w.object + "/" + part}, &plan,
                            v.checksummed() ? &sums : nullptr);
      plan.finish();
      v.chunks += int64_t(sums.size());
      v.bytes += size * int64_t(sizeof(float));
    }
    ++v.components;
  }
  return v;
}

}  // namespace munet
