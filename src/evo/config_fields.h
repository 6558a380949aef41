// Every field of an evolution's configuration, declared once. Each row drives the EvolutionConfig
// member and its default (evo/config.h), the range check (EvolutionConfig::validate), the
// `munet evolve` option (its name is the attribute's with '-' for '_') and its --help text, the
// check that options given on resume match the checkpoint, the checkpoint's /config attribute
// (written and read by io/, documented in io/SCHEMA.md and read by analysis/checkpoint_data.py,
// which a test checks), and the value a field takes in an older checkpoint that lacks it.
// Adding a field is one row here (plus its line in SCHEMA.md and checkpoint_data.py).
//
// X(type, member, attribute, default, since, legacy, lo, hi, help)
//   since:  the checkpoint format version that first stored the field; a checkpoint of an older
//           version gets `legacy`, the value that reproduces the behaviour of its run.
//   lo, hi: the valid range of numbers (inclusive); text fields are checked by their parsers.
// The root's shape is not here: it comes from the Model options that `munet train` shares
// (io/checkpoint_layout.h kConfigShape stores it).
#pragma once
#include <cstdint>
#include <string>

#define MUNET_DEFAULT_MOMENTUM_VALUES "0.5,0.6,0.7,0.8,0.85,0.9,0.95,0.98,0.99"

#define MUNET_EVOLUTION_FIELDS(X)                                                                               \
  X(int, task_iterations, "task_iterations", 2, 1, 2, 1, 1e6, "rounds over the task list")                       \
  X(int, children_per_task, "children_per_task", 64, 1, 64, 1, 1e6, "children sampled in each task's turn")      \
  X(int, parallel_slots, "parallel_slots", 8, 1, 8, 1, 1e5,                                                     \
    "children per generation (trained on the same data stream)")                                                \
  X(int, validations, "validations", 5, 1, 5, 1, 1e6, "validations per child")                                  \
  X(int, steps_per_validation, "steps_per_validation", 100, 1, 100, 1, 1e9, "training steps between validations") \
  X(bool, epoch_cap, "epoch_cap", true, 2, false, 0, 1,                                                         \
    "cap the steps between validations at one epoch of the task's training set: "                               \
    "ceil(min(train examples, steps-per-validation x batch-size) / batch-size); the schedule follows")          \
  X(int, batch_size, "batch_size", 512, 1, 512, 1, 1e6, "training batch size")                                  \
  X(int64_t, max_validation_examples, "max_val_examples", 10000, 1, 10000, 1, 1e12,                             \
    "validate on at most this many examples")                                                                   \
  X(int, eval_batch_size, "eval_batch_size", 256, 1, 256, 1, 1e6, "batch size for validation and test")         \
  X(int, max_image_size, "max_image_size", 64, 1, 64, 1, 1e5,                                                   \
    "largest image size the image_size mutation may reach")                                                     \
  X(double, base, "base", 1.0, 1, 1.0, 0, 1,                                                                    \
    "score = accuracy * base^(accounted params / root params); < 1 favours smaller models")                     \
  X(bool, flops_factor, "flops_factor", false, 1, false, 0, 1, "µ2Net+ size and FLOPs factors (s = 0.99)")      \
  X(uint64_t, seed, "seed", 0, 1, 0, 0, 1.8e19, "random seed: same seed and options give bit-identical results") \
  X(double, mu, "mu", 0.2, 2, 0.2, 0.1, 0.3,                                                                    \
    "the root's mutation probability µ; also the µ of the dataset-hyperparameter mutations")                    \
  X(std::string, mutate, "mutate", "all", 2, "all", 0, 0,                                                       \
    "hyperparameters that mutate: all, none, or a comma-separated list of mu, lr, lr_schedule, "                \
    "lr_warmup_ratio, momentum, nesterov, adapter_dim, num_layers (layer removal), image_size, crop, "          \
    "area_range_min, aspect_ratio_range_min, flip_left_right, brightness_delta, contrast_delta")                \
  X(std::string, momentum_values, "momentum_values", MUNET_DEFAULT_MOMENTUM_VALUES, 2,                          \
    MUNET_DEFAULT_MOMENTUM_VALUES, 0, 0,                                                                        \
    "momentum's valid values, ascending, in [0, 1); 'none' (plain SGD) may come first")                         \
  X(double, warmup_ratio, "warmup_ratio", 0.05, 2, 0.05, 0.01, 0.4, "the root's learning-rate warm-up ratio")    \
  X(bool, adapters, "adapters", true, 2, true, 0, 1,                                                            \
    "the adapter insertion mutation (a missing adapter before block i is added with probability µ)")            \
  X(int, adapter_dim, "adapter_dim", 32, 2, 32, 8, 128, "the root's adapter width")                             \
  X(std::string, baseline, "baseline", "none", 2, "none", 0, 0,                                                 \
    "none (µ2Net), transfer (each task evolves alone from the root), or the paper's baselines, each "           \
    "with one long training per task on the whole turn's compute from the root: finetune (every layer "         \
    "trained), freeze[:K] (the bottom K blocks frozen), adapters[:D] (an adapter of width D in every "          \
    "block, the rest frozen)")                                                                                  \
  X(int, baseline_freeze, "baseline_freeze", 2, 2, 2, 0, 1000, "K of --baseline freeze when it has none")       \
  X(int, baseline_adapter_dim, "baseline_adapter_dim", 32, 2, 32, 8, 128,                                       \
    "D of --baseline adapters when it has none")
