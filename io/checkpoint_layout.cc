// The model table's columns, and checkpoint object names.
#include "io/checkpoint_layout.h"

#include <cstdio>
#include <type_traits>

namespace munet {

std::string component_group_name(ComponentId id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08lld", (long long)id);
  return buf;
}

std::string component_path(ComponentId id) { return "/pool/components/" + component_group_name(id); }

bool is_parameter_dataset(const std::string& path) {
  const std::string prefix = "/pool/components/";
  if (path.rfind(prefix, 0) != 0) return false;
  const size_t part = path.find('/', prefix.size());  // after the component's group
  return part != std::string::npos &&
         (path.compare(part, 8, "/values/") == 0 || path.compare(part, 10, "/velocity/") == 0);
}

namespace {

template <typename T>
void write_field(hid_t g, const char* name, const T& v, const h5::Where& w) {
  if constexpr (std::is_same_v<T, std::string>) h5::write_attr(g, name, v, w);
  else if constexpr (std::is_floating_point_v<T>) h5::write_attr(g, name, double(v), w);
  else h5::write_attr(g, name, int64_t(v), w);
}

template <typename T>
void read_field(hid_t g, const char* name, T& v, const h5::Where& w) {
  if constexpr (std::is_same_v<T, std::string>) v = h5::read_string_attr(g, name, w);
  else if constexpr (std::is_floating_point_v<T>) v = h5::read_double_attr(g, name, w);
  else if constexpr (std::is_same_v<T, bool>) v = h5::read_int_attr(g, name, w) != 0;
  else v = T(h5::read_int_attr(g, name, w));
}

}  // namespace

void write_config_fields(hid_t g, const EvolutionConfig& c, const h5::Where& w) {
#define MUNET_FIELD_WRITE(type, member, name, ...) write_field(g, name, c.member, w);
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_WRITE)
#undef MUNET_FIELD_WRITE
}

void read_config_fields(hid_t g, int64_t version, EvolutionConfig& c, const h5::Where& w) {
#define MUNET_FIELD_READ(type, member, name, def, since, legacy, ...) \
  if (version >= since) read_field(g, name, c.member, w);             \
  else c.member = legacy;
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_READ)
#undef MUNET_FIELD_READ
  if (version < 2) c.baseline = h5::read_int_attr(g, "baseline", w) != 0 ? "transfer" : "none";
}

void ModelColumns::add(const ModelRecord& m) {
  id.push_back(m.id);
  task.push_back(m.task);
  parent.push_back(m.parent);
  iteration.push_back(m.iteration);
  generation.push_back(m.generation);
  slot.push_back(m.slot);
  accepted.push_back(m.accepted);
  params.push_back(m.params);
  new_params.push_back(m.new_params);
  train_images.push_back(m.train_images);
  quality.push_back(m.quality);
  score.push_back(m.score);
  test_accuracy.push_back(m.test_accuracy);
  accounted_params.push_back(m.accounted_params);
  flops.push_back(m.flops);
  train_seconds.push_back(m.train_seconds);
  for (int h = 0; h < kHpCount; ++h) hparams.push_back(m.hparams[static_cast<Hp>(h)]);
  for (size_t i = 0; i < m.route.size(); ++i) {
    route_component.push_back(m.route[i]);
    route_name.push_back(m.route_names[i]);
    route_trainable.push_back(m.route_trainable[i]);
  }
  route_offsets.push_back(int64_t(route_component.size()));
  validation_accuracy.insert(validation_accuracy.end(), m.validation_accuracies.begin(), m.validation_accuracies.end());
  validation_offsets.push_back(int64_t(validation_accuracy.size()));
  mutation.insert(mutation.end(), m.mutations.begin(), m.mutations.end());
  mutation_offsets.push_back(int64_t(mutation.size()));
}

void ModelColumns::write(hid_t g, const HpSpace& space, const h5::Where& w) const {
  using h5::write_column;
  write_column(g, "id", id, w);
  write_column(g, "task", task, w);
  write_column(g, "parent", parent, w);
  write_column(g, "iteration", iteration, w);
  write_column(g, "generation", generation, w);
  write_column(g, "slot", slot, w);
  write_column(g, "accepted", accepted, w);
  write_column(g, "params", params, w);
  write_column(g, "new_params", new_params, w);
  write_column(g, "train_images", train_images, w);
  write_column(g, "quality", quality, w);
  write_column(g, "score", score, w);
  write_column(g, "test_accuracy", test_accuracy, w);
  write_column(g, "accounted_params", accounted_params, w);
  write_column(g, "flops", flops, w);
  write_column(g, "train_seconds", train_seconds, w);
  h5::write_matrix(g, "hparams", hparams, int64_t(id.size()), kHpCount, w);
  std::vector<std::string> names;
  for (int h = 0; h < kHpCount; ++h) names.push_back(space.spec(static_cast<Hp>(h)).name);
  h5::write_attr(g, "hparam_names", names, w);
  write_column(g, "route_offsets", route_offsets, w);
  write_column(g, "route_component", route_component, w);
  write_column(g, "route_name", route_name, w);
  write_column(g, "route_trainable", route_trainable, w);
  write_column(g, "validation_offsets", validation_offsets, w);
  write_column(g, "validation_accuracy", validation_accuracy, w);
  write_column(g, "mutation_offsets", mutation_offsets, w);
  write_column(g, "mutation", mutation, w);
}

std::vector<ModelRecord> ModelColumns::read(hid_t g, const HpSpace& space, const h5::Where& w) {
  using h5::read_double_column;
  using h5::read_int_column;
  ModelColumns c;
  c.id = read_int_column(g, "id", -1, w);
  const int64_t n = int64_t(c.id.size());
  for (auto [name, col] : {std::pair{"task", &c.task}, {"parent", &c.parent}, {"iteration", &c.iteration},
                           {"generation", &c.generation}, {"slot", &c.slot}, {"accepted", &c.accepted},
                           {"params", &c.params}, {"new_params", &c.new_params}, {"train_images", &c.train_images}})
    *col = read_int_column(g, name, n, w);
  for (auto [name, col] : {std::pair{"quality", &c.quality}, {"score", &c.score}, {"test_accuracy", &c.test_accuracy},
                           {"accounted_params", &c.accounted_params}, {"flops", &c.flops},
                           {"train_seconds", &c.train_seconds}})
    *col = read_double_column(g, name, n, w);
  c.hparams = h5::read_matrix(g, "hparams", n, kHpCount, w);
  c.route_offsets = read_int_column(g, "route_offsets", n + 1, w);
  c.validation_offsets = read_int_column(g, "validation_offsets", n + 1, w);
  c.mutation_offsets = read_int_column(g, "mutation_offsets", n + 1, w);
  auto check_offsets = [&](const std::vector<int64_t>& off, const char* what) {
    for (int64_t i = 0; i < n; ++i)
      MUNET_CHECK(off[0] == 0 && off[i] <= off[i + 1], w.file, ": ", w.object, "/", what, " is not a list of offsets");
    return off[n];
  };
  const int64_t routes = check_offsets(c.route_offsets, "route_offsets");
  c.route_component = read_int_column(g, "route_component", routes, w);
  c.route_name = h5::read_string_column(g, "route_name", routes, w);
  c.route_trainable = read_int_column(g, "route_trainable", routes, w);
  c.validation_accuracy = read_double_column(g, "validation_accuracy", check_offsets(c.validation_offsets, "validation_offsets"), w);
  c.mutation = h5::read_string_column(g, "mutation", check_offsets(c.mutation_offsets, "mutation_offsets"), w);

  std::vector<ModelRecord> out(n);
  for (int64_t i = 0; i < n; ++i) {
    ModelRecord& m = out[i];
    m.id = c.id[i];
    m.task = int(c.task[i]);
    m.parent = c.parent[i];
    m.iteration = int(c.iteration[i]);
    m.generation = int(c.generation[i]);
    m.slot = int(c.slot[i]);
    m.accepted = c.accepted[i] != 0;
    m.params = c.params[i];
    m.new_params = c.new_params[i];
    m.train_images = c.train_images[i];
    m.quality = c.quality[i];
    m.score = c.score[i];
    m.test_accuracy = c.test_accuracy[i];
    m.accounted_params = c.accounted_params[i];
    m.flops = c.flops[i];
    m.train_seconds = c.train_seconds[i];
    for (int h = 0; h < kHpCount; ++h) m.hparams[static_cast<Hp>(h)] = c.hparams[i * kHpCount + h];
    try {
      space.check(m.hparams);
    } catch (const Error& e) {
      fail(w.file, ": ", w.object, ": model ", m.id, ": ", e.what());
    }
    for (int64_t k = c.route_offsets[i]; k < c.route_offsets[i + 1]; ++k) {
      m.route.push_back(c.route_component[k]);
      m.route_names.push_back(c.route_name[k]);
      m.route_trainable.push_back(c.route_trainable[k] != 0);
    }
    m.validation_accuracies.assign(c.validation_accuracy.begin() + c.validation_offsets[i],
                                   c.validation_accuracy.begin() + c.validation_offsets[i + 1]);
    m.mutations.assign(c.mutation.begin() + c.mutation_offsets[i], c.mutation.begin() + c.mutation_offsets[i + 1]);
  }
  return out;
}

}  // namespace munet
