// import_vit: the two layouts' array names, shape inference, and the copies (with transposes and
// the Q/K/V fusion) into munet's parameter layouts (nn/component.cc, io/SCHEMA.md "Conventions
// of a model").
#include "import/vit_import.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "nn/posembed_resize.h"
#include "util/error.h"

namespace munet {
namespace {

// Reads arrays with the expected shape, remembering which were used.
class Arrays {
 public:
  explicit Arrays(const ArrayFile& f) : f_(f) {}

  bool has(const std::string& name) const { return f_.has(name); }
  // The shape of an array the model's shape is read from; `meaning` says what it is expected to be.
  Shape shape(const std::string& name, const std::string& meaning) const {
    MUNET_CHECK(f_.has(name), f_.path(), ": array '", name, "' is missing (expected shape ", meaning, ")");
    return f_.shape(name);
  }
  [[noreturn]] void bad_shape(const std::string& name, const Shape& got, const std::string& expected) const {
    fail(f_.path(), ": array '", name, "' has shape ", shape_str(got), ", expected ", expected);
  }
  std::vector<float> get(const std::string& name, const Shape& expected) {
    used_.insert(name);
    MUNET_CHECK(f_.has(name), f_.path(), ": array '", name, "' is missing (expected shape ", shape_str(expected), ")");
    const Shape got = f_.shape(name);
    if (got != expected) bad_shape(name, got, shape_str(expected));
    return f_.read(name);
  }
  const std::set<std::string>& used() const { return used_; }
  const ArrayFile& file() const { return f_; }

 private:
  const ArrayFile& f_;
  std::set<std::string> used_;
};

// Where each part of a ViT lives in one layout.
struct Layout {
  std::string name;
  std::string emb_kernel, emb_bias, cls, pos, norm_scale, norm_bias, head_kernel, head_bias;
  std::string block_prefix;  // + N + block_sep
  std::string block_sep;
  std::string block(int i, const std::string& rest) const { return block_prefix + std::to_string(i) + block_sep + rest; }
};

// vit_jax's names, under `prefix`: "" for the AugReg files, "opt/target/" for a flax optimizer
// checkpoint, "params/" for a big_vision one.
Layout vit_jax_layout(const std::string& prefix) {
  const std::string p = prefix;
  return {"vit_jax", p + "embedding/kernel", p + "embedding/bias", p + "cls",
          p + "Transformer/posembed_input/pos_embedding", p + "Transformer/encoder_norm/scale",
          p + "Transformer/encoder_norm/bias", p + "head/kernel", p + "head/bias", p + "Transformer/encoderblock_", "/"};
}
const Layout kTimm{"timm", "patch_embed.proj.weight", "patch_embed.proj.bias", "cls_token", "pos_embed",
                   "norm.weight", "norm.bias", "head.weight", "head.bias", "blocks.", "."};

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

int count_blocks(const ArrayFile& f, const Layout& l) {
  std::set<int> seen;
  for (const std::string& n : f.names()) {
    if (!starts_with(n, l.block_prefix)) continue;
    size_t end = l.block_prefix.size();
    while (end < n.size() && std::isdigit(static_cast<unsigned char>(n[end]))) ++end;
    if (end > l.block_prefix.size() && n.compare(end, l.block_sep.size(), l.block_sep) == 0)
      seen.insert(std::stoi(n.substr(l.block_prefix.size(), end - l.block_prefix.size())));
  }
  int count = 0;
  while (seen.count(count)) ++count;
  MUNET_CHECK(int(seen.size()) == count, f.path(), ": encoder blocks must be numbered from 0 without gaps (block ",
              *seen.rbegin(), " is present, block ", count, " is not)");
  return count;
}

// dst[c * rows + r] = src[r * cols + c]: a PyTorch [out, in] weight to munet's [in, out] kernel.
void transpose_into(const std::vector<float>& src, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

void copy_into(const std::vector<float>& src, float* dst) { std::copy(src.begin(), src.end(), dst); }

// A component of `kind` shaped by `cfg`, filled by `fill(host values, layout)`.
template <class Fill>
std::unique_ptr<Component> make(const std::string& name, ComponentKind kind, const ViTConfig& cfg, Backend& backend,
                                 Fill fill) {
  auto c = std::make_unique<Component>(name, kind, component_layout(kind, cfg), backend, DType::F32);
  Tensor host = Tensor::host(c->values().shape(), DType::F32);
  float* v = host.data<float>();
  const std::vector<ParamSpec>& l = c->layout();
  fill([&](const std::string& param) { return v + l[c->index_of(param)].offset; });
  backend.copy(host, c->values());
  return c;
}

}  // namespace

ImportedViT import_vit(const ArrayFile& file, const ImportOptions& opt, Backend& backend) {
  const std::string& path = file.path();
  std::string prefix;  // of the vit_jax names; arrays outside it (optimizer state) are not the model's
  for (const char* p : {"opt/target/", "params/"})
    if (file.has(std::string(p) + "embedding/kernel")) prefix = p;
  const Layout jax_names = vit_jax_layout(prefix);
  const bool jax = file.has(jax_names.emb_kernel), timm = file.has(kTimm.emb_kernel);
  MUNET_CHECK(jax != timm, path, ": ",
              jax ? "holds both a vit_jax and a timm patch embedding"
                  : "is not a ViT checkpoint munet knows: no array 'embedding/kernel' (vit_jax / big_vision "
                    ".npz layout) or 'patch_embed.proj.weight' (timm layout)");
  const Layout& L = jax ? jax_names : kTimm;
  Arrays a(file);
  ImportedViT out;
  out.layout = L.name;
  ViTConfig& cfg = out.config;

  // Patch size, channels and hidden size from the patch-embedding kernel.
  const Shape ek = a.shape(L.emb_kernel, jax ? "(patch, patch, 3, hidden)" : "(hidden, 3, patch, patch)");
  const bool ek_ok = ek.size() == 4 && (jax ? ek[0] == ek[1] && ek[2] == 3 : ek[2] == ek[3] && ek[1] == 3) &&
                     ek[0] > 0 && ek[3] > 0;
  if (!ek_ok) a.bad_shape(L.emb_kernel, ek, jax ? "(patch, patch, 3, hidden)" : "(hidden, 3, patch, patch)");
  cfg.patch = int(jax ? ek[0] : ek[2]);
  cfg.hidden = int(jax ? ek[3] : ek[0]);
  const int64_t D = cfg.hidden;

  // Blocks, MLP width and heads from block 0.
  out.checkpoint_layers = count_blocks(file, L);
  MUNET_CHECK(opt.layers <= out.checkpoint_layers, "--layers ", opt.layers, ": ", path, " has only ",
              out.checkpoint_layers, " encoder blocks");
  cfg.layers = opt.layers >= 0 ? opt.layers : out.checkpoint_layers;
  cfg.mlp = int(4 * D);
  cfg.heads = opt.heads > 0 ? opt.heads : D % 64 == 0 ? int(D / 64) : 1;
  if (out.checkpoint_layers > 0) {
    const std::string fc1 = L.block(0, jax ? "MlpBlock_3/Dense_0/kernel" : "mlp.fc1.weight");
    const Shape m = a.shape(fc1, jax ? "(hidden, mlp)" : "(mlp, hidden)");
    if (m.size() != 2 || m[jax ? 0 : 1] != D || m[jax ? 1 : 0] <= 0)
      a.bad_shape(fc1, m, jax ? cat("(", D, ", mlp)") : cat("(mlp, ", D, ")"));
    cfg.mlp = int(m[jax ? 1 : 0]);
    if (jax) {
      const std::string q = L.block(0, "MultiHeadDotProductAttention_1/query/kernel");
      const Shape s = a.shape(q, "(hidden, heads, hidden / heads)");
      if (s.size() != 3 || s[0] != D || s[1] <= 0 || s[1] * s[2] != D)
        a.bad_shape(q, s, cat("(", D, ", heads, ", D, " / heads)"));
      MUNET_CHECK(opt.heads <= 0 || opt.heads == s[1], "--heads ", opt.heads, ": ", path, " has ", s[1],
                  " heads (array '", q, "' has shape ", shape_str(s), ")");
      cfg.heads = int(s[1]);
    }
  }
  MUNET_CHECK(opt.heads > 0 || jax || D % 64 == 0, path, ": hidden size ", D,
              " is not a multiple of 64, so the number of heads cannot be taken as hidden / 64: give --heads");
  MUNET_CHECK(D % cfg.heads == 0, "--heads ", cfg.heads, " does not divide the hidden size ", D);

  // Grid of the position embedding.
  const Shape ps = a.shape(L.pos, "(1, 1 + grid * grid, hidden)");
  const int64_t grid = ps.size() == 3 && ps[1] >= 2 ? std::llround(std::sqrt(double(ps[1] - 1))) : 0;
  if (ps.size() != 3 || ps[0] != 1 || ps[2] != D || grid * grid != ps[1] - 1)
    a.bad_shape(L.pos, ps, cat("(1, 1 + grid * grid, ", D, "): a class-token row, then a square grid"));
  out.original_image_size = int(grid) * cfg.patch;
  cfg.image_size = opt.image_size > 0 ? opt.image_size : out.original_image_size;
  MUNET_CHECK(cfg.image_size % cfg.patch == 0, "--image-size ", cfg.image_size,
              " is not a multiple of the checkpoint's patch size ", cfg.patch);

  // Classes from the head.
  cfg.num_classes = 0;
  if (!opt.drop_head) {
    MUNET_CHECK(a.has(L.head_kernel), path, ": array '", L.head_kernel, "' is missing (expected shape ",
                jax ? "(hidden, classes)" : "(classes, hidden)", "); give --drop-head to import without a head");
    const Shape h = a.shape(L.head_kernel, "");
    if (h.size() != 2 || h[jax ? 0 : 1] != D || h[jax ? 1 : 0] <= 0)
      a.bad_shape(L.head_kernel, h, jax ? cat("(", D, ", classes)") : cat("(classes, ", D, ")"));
    cfg.num_classes = int(h[jax ? 1 : 0]);
  }
  ViTConfig shape = cfg;  // for component layouts: a headless model still has valid shapes
  if (shape.num_classes == 0) shape.num_classes = 1;
  shape.validate();

  // The components, in route order.
  const int64_t P = cfg.patch, M = cfg.mlp, H = cfg.heads, dh = D / H, C = cfg.num_classes;
  out.route.push_back(make("embedding", ComponentKind::Embedding, shape, backend, [&](auto at) {
    if (jax) {
      copy_into(a.get(L.emb_kernel, {P, P, 3, D}), at("kernel"));  // (ky, kx, c) rows already
    } else {
      const std::vector<float> w = a.get(L.emb_kernel, {D, 3, P, P});
      float* k = at("kernel");
      for (int64_t ky = 0; ky < P; ++ky)
        for (int64_t kx = 0; kx < P; ++kx)
          for (int64_t c = 0; c < 3; ++c)
            for (int64_t d = 0; d < D; ++d) k[((ky * P + kx) * 3 + c) * D + d] = w[((d * 3 + c) * P + ky) * P + kx];
    }
    copy_into(a.get(L.emb_bias, {D}), at("bias"));
  }));
  out.route.push_back(make("cls", ComponentKind::ClassToken, shape, backend,
                           [&](auto at) { copy_into(a.get(L.cls, {1, 1, D}), at("cls")); }));
  ViTConfig original = shape;
  original.image_size = out.original_image_size;
  auto pos = make("posembed_" + std::to_string(original.image_size), ComponentKind::PosEmbed, original, backend,
                  [&](auto at) { copy_into(a.get(L.pos, {1, 1 + grid * grid, D}), at("pos_embedding")); });
  if (cfg.image_size == out.original_image_size) {
    out.route.push_back(std::move(pos));
  } else {
    Tensor host = Tensor::host(pos->values().shape(), DType::F32);
    backend.copy(pos->values(), host);
    const Tensor resized = resize_position_embedding(host.reshape(pos->layout()[0].shape), cfg.grid());
    out.route.push_back(make("posembed_" + std::to_string(cfg.image_size), ComponentKind::PosEmbed, shape, backend,
                             [&](auto at) {
                               const float* r = resized.data<float>();
                               std::copy(r, r + resized.numel(), at("pos_embedding"));
                             }));
    out.original_posembed = std::move(pos);
  }

  for (int i = 0; i < cfg.layers; ++i) {
    auto b = [&](const std::string& rest) { return L.block(i, rest); };
    out.route.push_back(make("encoderblock_" + std::to_string(i), ComponentKind::EncoderBlock, shape, backend,
                             [&](auto at) {
      const std::string attn = jax ? "MultiHeadDotProductAttention_1/" : "attn.";
      const std::string ln1 = jax ? "LayerNorm_0/" : "norm1.", ln2 = jax ? "LayerNorm_2/" : "norm2.";
      const std::string scale = jax ? "scale" : "weight";
      copy_into(a.get(b(ln1 + scale), {D}), at("LayerNorm_0/scale"));
      copy_into(a.get(b(ln1 + "bias"), {D}), at("LayerNorm_0/bias"));
      copy_into(a.get(b(ln2 + scale), {D}), at("LayerNorm_2/scale"));
      copy_into(a.get(b(ln2 + "bias"), {D}), at("LayerNorm_2/bias"));
      float* qkv = at("MultiHeadDotProductAttention_1/qkv/kernel");
      float* qkv_bias = at("MultiHeadDotProductAttention_1/qkv/bias");
      if (jax) {
        // Column s * D + h * dh + j of the fused kernel is Q/K/V (s = 0/1/2), head h, element j.
        const char* parts[3] = {"query", "key", "value"};
        for (int s = 0; s < 3; ++s) {
          const std::vector<float> k = a.get(b(attn + parts[s] + "/kernel"), {D, H, dh});
          for (int64_t r = 0; r < D; ++r) std::copy(&k[r * D], &k[r * D] + D, qkv + r * 3 * D + s * D);
          copy_into(a.get(b(attn + parts[s] + "/bias"), {H, dh}), qkv_bias + s * D);
        }
        copy_into(a.get(b(attn + "out/kernel"), {H, dh, D}), at("MultiHeadDotProductAttention_1/out/kernel"));
        copy_into(a.get(b(attn + "out/bias"), {D}), at("MultiHeadDotProductAttention_1/out/bias"));
        copy_into(a.get(b("MlpBlock_3/Dense_0/kernel"), {D, M}), at("MlpBlock_3/Dense_0/kernel"));
        copy_into(a.get(b("MlpBlock_3/Dense_0/bias"), {M}), at("MlpBlock_3/Dense_0/bias"));
        copy_into(a.get(b("MlpBlock_3/Dense_1/kernel"), {M, D}), at("MlpBlock_3/Dense_1/kernel"));
        copy_into(a.get(b("MlpBlock_3/Dense_1/bias"), {D}), at("MlpBlock_3/Dense_1/bias"));
      } else {
        // timm's qkv rows are already ordered (s, h, j): its forward reshapes them to (3, heads, dh).
        transpose_into(a.get(b("attn.qkv.weight"), {3 * D, D}), 3 * D, D, qkv);
        copy_into(a.get(b("attn.qkv.bias"), {3 * D}), qkv_bias);
        transpose_into(a.get(b("attn.proj.weight"), {D, D}), D, D, at("MultiHeadDotProductAttention_1/out/kernel"));
        copy_into(a.get(b("attn.proj.bias"), {D}), at("MultiHeadDotProductAttention_1/out/bias"));
        transpose_into(a.get(b("mlp.fc1.weight"), {M, D}), M, D, at("MlpBlock_3/Dense_0/kernel"));
        copy_into(a.get(b("mlp.fc1.bias"), {M}), at("MlpBlock_3/Dense_0/bias"));
        transpose_into(a.get(b("mlp.fc2.weight"), {D, M}), D, M, at("MlpBlock_3/Dense_1/kernel"));
        copy_into(a.get(b("mlp.fc2.bias"), {D}), at("MlpBlock_3/Dense_1/bias"));
      }
    }));
  }
  out.route.push_back(make("encoder_norm", ComponentKind::EncoderNorm, shape, backend, [&](auto at) {
    copy_into(a.get(L.norm_scale, {D}), at("scale"));
    copy_into(a.get(L.norm_bias, {D}), at("bias"));
  }));
  if (!opt.drop_head)
    out.route.push_back(make("head", ComponentKind::Head, shape, backend, [&](auto at) {
      if (jax) copy_into(a.get(L.head_kernel, {D, C}), at("kernel"));
      else transpose_into(a.get(L.head_kernel, {C, D}), C, D, at("kernel"));
      copy_into(a.get(L.head_bias, {C}), at("bias"));
    }));

  // Every other array must be one the options leave out: blocks past --layers, the head with --drop-head.
  std::vector<std::string> unknown;
  for (const std::string& n : file.names()) {
    if (a.used().count(n) || !starts_with(n, prefix)) continue;
    bool dropped = opt.drop_head && (n == L.head_kernel || n == L.head_bias);
    for (int i = cfg.layers; i < out.checkpoint_layers && !dropped; ++i)
      dropped = starts_with(n, L.block(i, ""));
    if (!dropped) unknown.push_back(cat("'", n, "' ", shape_str(file.shape(n))));
  }
  if (!unknown.empty()) {
    std::string list;
    for (size_t i = 0; i < unknown.size() && i < 8; ++i) list += (i ? ", " : "") + unknown[i];
    if (unknown.size() > 8) list += cat(" and ", unknown.size() - 8, " more");
    fail(path, ": ", unknown.size(), " array", unknown.size() == 1 ? "" : "s",
         " that a ", L.name, " ViT (pre-LayerNorm blocks, class token, linear head) does not have: ", list);
  }
  return out;
}

}  // namespace munet
