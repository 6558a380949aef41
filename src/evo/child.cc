// Child construction: hyperparameter mutation, route assembly and the clone-or-share rule.
#include "evo/child.h"

#include "nn/vit_model.h"
#include "util/error.h"

namespace munet {
namespace {

constexpr Hp kPerChild[] = {Hp::Lr, Hp::LrSchedule, Hp::WarmupRatio, Hp::Momentum, Hp::Nesterov,
                            Hp::AdapterDim, Hp::NumLayers};

const ChildRules& every_mutation() {
  static const ChildRules all = [] {
    ChildRules r;
    r.mutate.fill(true);
    return r;
  }();
  return all;
}

class RouteBuilder {
 public:
  RouteBuilder(const ChildContext& ctx, const ChildRules& rules, const ModelRecord& parent, ModelRecord& child,
               Rng& rng)
      : ctx_(ctx), rules_(rules), parent_(parent), child_(child), rng_(rng), mu_(child.hparams.mu()) {}

  // The id of component `name` (with `adapter_dim`, for adapters, when > 0) on the parent's
  // route, else on the nearest ancestor's (same task only when own_task_only), else on the
  // root's; -1 if none is still in the pool.
  ComponentId find(const std::string& name, bool own_task_only, int adapter_dim = 0) const {
    auto match = [&](const ModelRecord& r) -> ComponentId {
      for (size_t i = 0; i < r.route.size(); ++i)
        if (r.route_names[i] == name && ctx_.pool.contains(r.route[i]) &&
            (adapter_dim <= 0 || adapter_dim_of(*ctx_.pool.at(r.route[i]).component) == adapter_dim))
          return r.route[i];
      return -1;
    };
    for (ModelId m = parent_.id; m != kNoModel;) {
      const ModelRecord& r = ctx_.models.at(m);
      if (!own_task_only || r.task == ctx_.task) {
        const ComponentId id = match(r);
        if (id >= 0) return id;
      }
      m = r.parent;
    }
    return own_task_only ? -1 : match(ctx_.models.at(ctx_.root));
  }

  // Puts an existing component on the route: cloned (trainable) or shared (frozen). A paper
  // baseline clones by its recipe (finetune: all, as µ = 1; the others: what it forces, as µ = 0).
  void take(ComponentId id) {
    const std::string& name = ctx_.pool.at(id).component->name();
    const bool must_clone = ctx_.pool.trainable_by(id, ctx_.task) || name == "encoder_norm";
    const BaselinePlan& plan = rules_.baseline;
    const bool clone = must_clone || plan.forces(name) ||
                       (plan.paper() ? plan.kind == BaselineKind::Finetune : rng_.bernoulli(mu_));
    if (clone) {
      if (!must_clone) child_.mutations.push_back("clone " + name);
      push(ctx_.pool.clone(id, ctx_.task), true);
    } else {
      push(id, false);
    }
  }

  // Adds a fresh component (initialised for this child) as trainable.
  void add_new(const std::string& name, ComponentKind kind, const ViTConfig& cfg, int adapter_dim) {
    push(ctx_.pool.add_fresh(ctx_.task, name, kind, cfg, ctx_.init_seed, adapter_dim), true);
  }

  void push(ComponentId id, bool trainable) {
    child_.route.push_back(id);
    child_.route_names.push_back(ctx_.pool.at(id).component->name());
    child_.route_trainable.push_back(trainable);
  }

  double mu() const { return mu_; }

 private:
  const ChildContext& ctx_;
  const ChildRules& rules_;
  const ModelRecord& parent_;
  ModelRecord& child_;
  Rng& rng_;
  double mu_;
};

ComponentId on_route(const ModelRecord& m, const std::string& name) {
  for (size_t i = 0; i < m.route.size(); ++i)
    if (m.route_names[i] == name) return m.route[i];
  return -1;
}

}  // namespace

ChildRules child_rules(const EvolutionConfig& config) {
  ChildRules r;
  r.mutate = config.mutating();
  r.adapters = config.adapters;
  r.baseline = config.baseline_plan();
  return r;
}

ViTConfig model_shape(const ViTConfig& shape, const Hparams& hp, int num_classes) {
  ViTConfig c = shape;
  c.image_size = hp.image_size();
  c.layers = hp.num_layers();
  c.num_classes = num_classes;
  return c;
}

ModelRecord make_child(const ChildContext& ctx, const ModelRecord& parent, const Hparams& generation,
                       Rng& rng) {
  const ChildRules& rules = ctx.rules ? *ctx.rules : every_mutation();
  ModelRecord child;
  child.task = ctx.task;
  child.parent = parent.id;
  Hparams hp = parent.hparams;
  for (int i = 0; i < kHpCount; ++i) {
    const Hp h = static_cast<Hp>(i);
    if (ctx.space.spec(h).dataset && hp[h] != generation[h]) {
      child.mutations.push_back(cat(ctx.space.spec(h).name, " ", ctx.space.value_string(h, hp[h]), "->",
                                    ctx.space.value_string(h, generation[h]), " (generation)"));
      hp[h] = generation[h];
    }
  }
  if (rules.mutate[int(Hp::Mu)]) {
    const std::string mu_change = ctx.space.mutate(Hp::Mu, hp, parent.hparams.mu(), rng);
    if (!mu_change.empty()) child.mutations.push_back(mu_change);
  }
  for (Hp h : kPerChild) {
    if (!rules.mutate[int(h)]) continue;
    const std::string m = ctx.space.mutate(h, hp, hp.mu(), rng);
    if (!m.empty()) child.mutations.push_back(m);
  }
  child.hparams = hp;
  const ViTConfig cfg = model_shape(ctx.shape, hp, ctx.shape.num_classes);

  RouteBuilder b(ctx, rules, parent, child, rng);
  auto need = [&](const std::string& name) {
    const ComponentId id = b.find(name, false);
    MUNET_CHECK(id >= 0, "making a child of model ", parent.id, ": no component '", name,
                "' on its ancestors or the root");
    return id;
  };
  b.take(need("embedding"));
  b.take(need("cls"));

  const std::string pos_name = "posembed_" + std::to_string(cfg.image_size);
  const ComponentId pos = b.find(pos_name, false);
  if (pos >= 0) {
    b.take(pos);
  } else {  // resize the original grid's (else the parent's) embedding to the new grid and train it
    const ComponentId from = [&] {
      if (ctx.original_posembed >= 0) return ctx.original_posembed;
      for (size_t i = 0; i < parent.route.size(); ++i)
        if (ctx.pool.at(parent.route[i]).component->kind() == ComponentKind::PosEmbed) return parent.route[i];
      fail("model ", parent.id, " has no position embedding");
    }();
    child.mutations.push_back("resize " + ctx.pool.component(from).name() + "->" + pos_name);
    b.push(ctx.pool.add_resized(ctx.task, from, pos_name, cfg), true);
  }

  for (int i = 0; i < cfg.layers; ++i) {
    const std::string adapter = "adapter_" + std::to_string(i);
    const ComponentId a = on_route(parent, adapter);
    const ComponentId sized = a >= 0 ? b.find(adapter, false, hp.adapter_dim()) : -1;
    if (sized >= 0) {
      b.take(sized);
    } else if (a >= 0) {
      child.mutations.push_back(cat("new ", adapter, " (dim ", hp.adapter_dim(), ")"));
      b.add_new(adapter, ComponentKind::Adapter, cfg, hp.adapter_dim());
    } else if (rules.baseline.kind == BaselineKind::Adapters ||
               (!rules.baseline.paper() && rules.adapters && rng.bernoulli(b.mu()))) {
      child.mutations.push_back(cat("add ", adapter, " (dim ", hp.adapter_dim(), ")"));
      b.add_new(adapter, ComponentKind::Adapter, cfg, hp.adapter_dim());
    }
    b.take(need("encoderblock_" + std::to_string(i)));
  }
  b.take(need("encoder_norm"));

  const ComponentId head = b.find("head", true);
  if (head >= 0) {
    b.take(head);
  } else {
    child.mutations.push_back("new head");
    b.add_new("head", ComponentKind::Head, cfg, 0);
  }
  for (size_t i = 0; i < child.route.size(); ++i) {
    const int64_t n = ctx.pool.at(child.route[i]).component->size();
    child.params += n;
    if (child.route_trainable[i]) child.new_params += n;
  }
  return child;
}

TrainConfig child_training(const EvolutionConfig& c, const Hparams& hp, int64_t train_examples) {
  TrainConfig tc;
  tc.batch_size = c.batch_size;
  tc.validations = c.child_validations();
  tc.steps = int64_t(tc.validations) * c.steps_per_validation_for(train_examples);
  tc.schedule = hp.schedule();
  tc.lr = hp[Hp::Lr];
  tc.warmup_ratio = hp[Hp::WarmupRatio];
  tc.sgd.momentum = hp[Hp::Momentum];  // 0: none
  tc.sgd.nesterov = hp[Hp::Nesterov] != 0;
  tc.augmentation = hp.augmentation();
  tc.max_validation_examples = c.max_validation_examples;
  tc.eval_batch_size = c.eval_batch_size;
  tc.log_every = 0;
  return tc;
}

}  // namespace munet
