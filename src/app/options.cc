// Option definitions, defaults and their conversion into configs; the precedence of command
// line, --config file and --preset.
#include "app/options.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "app/presets.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace munet::app {

std::string threads_help() {
  return cat("CPU threads, in [0, ", max_threads(), "] (0: all hardware threads; at most 4 x the ",
             hardware_threads(), " hardware threads here, and never above 1024)");
}

int max_threads() { return std::min(1024, 4 * std::max(1, hardware_threads())); }

po::options_description common_options() {
  po::options_description g("General");
  g.add_options()
      ("help,h", "show this help and exit")
      ("config", po::value<std::string>(),
       "read options from this file (INI style, one 'name = value' per line); the command line wins")
      ("data", po::value<std::string>()->default_value("", "$MUNET_DATA"),
       "folder of the built-in tasks' raw files, laid out like shared/datasets (default: $MUNET_DATA, else the "
       "first shared/datasets in the munet executable's folder or the 3 above it: <repo>/shared/datasets or "
       "<repo>/../shared/datasets for a munet built in <repo>/build; never the working directory)")
      ("threads", po::value<int>()->default_value(0), threads_help().c_str());
  return g;
}

po::options_description train_task_options() {
  po::options_description t("Task and output");
  t.add_options()
      ("seed", po::value<uint64_t>()->default_value(0), "random seed: same seed and options give bit-identical results")
      ("task", po::value<std::string>()->default_value("mnist"),
       "task: mnist, fashion_mnist, omniglot, cmaterdb_bangla, cmaterdb_devanagari, or a task file from munet "
       "task pack (an entry containing '/' or ending in .h5, e.g. ./flowers.h5)")
      ("log-every", po::value<int64_t>()->default_value(100), "print a progress line every this many steps (0: only at validations)")
      ("save", po::value<std::string>()->default_value(""),
       "write the trained model (best validation) to this HDF5 model file, e.g. for munet evolve --root")
      ("root", po::value<std::string>()->default_value(""),
       "start from this model file (munet import, munet train --save) instead of a random initialisation: "
       "its shape replaces the Model options, except --layers (keeps the first k blocks) and --image-size "
       "(the position embedding is resized from the file's original grid); every component is fine-tuned; "
       "its head is kept when it was trained on --task, else a new zero head");
  return t;
}

po::options_description model_options() {
  po::options_description m("Model");
  m.add_options()
      ("model", po::value<std::string>()->default_value("char"),
       "ViT preset: char (Ti/16, 3 layers, 32x32: the character-benchmark root), ti16, s16, b16, l16")
      ("layers", po::value<int>()->default_value(-1), "encoder blocks (-1: the preset's)")
      ("image-size", po::value<int>()->default_value(0), "input image size in pixels (0: the preset's)")
      ("patch", po::value<int>()->default_value(0), "patch size (0: the preset's)")
      ("hidden", po::value<int>()->default_value(0), "hidden size (0: the preset's)")
      ("mlp", po::value<int>()->default_value(0), "MLP size (0: the preset's)")
      ("heads", po::value<int>()->default_value(0), "attention heads (0: the preset's)");
  return m;
}

po::options_description training_options() {
  po::options_description t("Training");
  t.add_options()
      ("batch-size", po::value<int>()->default_value(128), "training batch size")
      ("steps", po::value<int64_t>()->default_value(1000), "training steps")
      ("validations", po::value<int>()->default_value(5),
       "validate this many times, evenly spaced; the best validation's parameters are kept")
      ("max-val-examples", po::value<int64_t>()->default_value(10000),
       "validate on at most this many examples (0: all of the validation split)")
      ("eval-batch-size", po::value<int>()->default_value(256), "batch size for validation and test")
      ("lr", po::value<double>()->default_value(0.01, "0.01"), "peak learning rate")
      ("lr-schedule", po::value<std::string>()->default_value("cosine"),
       "cosine (warm-up then cosine decay), constant (0.5 * lr), restarts (one cosine cycle per validation)")
      ("warmup-ratio", po::value<double>()->default_value(0.05, "0.05"), "fraction of steps (of each cycle) spent warming up")
      ("momentum", po::value<double>()->default_value(0.9, "0.9"), "SGD momentum")
      ("nesterov", po::value<bool>()->default_value(false, "false"), "Nesterov momentum (true/false)")
      ("clip-norm", po::value<double>()->default_value(1.0, "1.0"), "global gradient-norm clipping, >= 0 (0: off)");
  return t;
}

po::options_description augmentation_options() {
  po::options_description a("Augmentation (training only)");
  a.add_options()
      ("crop", po::value<bool>()->default_value(true, "true"), "random crop (true/false)")
      ("area-min", po::value<double>()->default_value(0.05, "0.05"), "smallest crop area, as a fraction of the image")
      ("aspect-min", po::value<double>()->default_value(0.75, "0.75"), "crop aspect ratio range [r, 1/r]")
      ("flip", po::value<bool>()->default_value(true, "true"), "random left-right flip (true/false)")
      ("brightness", po::value<double>()->default_value(0.0, "0.0"), "brightness jitter (added, on the [-1,1] scale)")
      ("contrast", po::value<double>()->default_value(0.0, "0.0"), "contrast jitter (factor in [1-c, 1+c])");
  return a;
}

bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& all,
                   po::variables_map& vm, const po::positional_options_description* positional) {
  po::command_line_parser parser(argc, argv);
  parser.options(all);
  const po::positional_options_description none;  // a stray bare argument is refused, not ignored
  parser.positional(positional ? *positional : none);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << all << std::endl;
    return false;
  }
  if (vm.count("config")) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream file(path);
    MUNET_CHECK(file.good(), "cannot open config file ", path);
    struct stat st;
    MUNET_CHECK(::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode), "config file ", path,
                " is a directory; give the file of 'name = value' lines");
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte-order mark (Windows editors)
    std::istringstream in(text);
    try {
      po::store(po::parse_config_file(in, all), vm);
    } catch (const po::error& e) {
      fail(path, ": ", e.what());
    }
  }
  // A preset (munet evolve) fills in what neither the command line nor the config file gave.
  if (all.find_nothrow("preset", false) && vm.count("preset") && !vm["preset"].as<std::string>().empty()) {
    const Preset& p = preset(vm["preset"].as<std::string>());
    std::istringstream in(p.options);
    po::store(po::parse_config_file(in, all), vm);
  }
  po::notify(vm);
  if (vm.count("threads")) {  // every command: a huge value would create threads until the machine runs out
    const int t = vm["threads"].as<int>();
    MUNET_CHECK(t >= 0 && t <= max_threads(), "--threads must be in [0, ", max_threads(), "] (0: all ",
                hardware_threads(), " hardware threads; at most 4 x them, never above 1024), got ", t);
  }
  return true;
}

ViTConfig model_from(const po::variables_map& vm, int num_classes) {
  ViTConfig c = vit_preset(vm["model"].as<std::string>());
  auto override_int = [&](const char* name, int& field, int unset) {
    const int v = vm[name].as<int>();
    if (v != unset) field = v;
  };
  override_int("layers", c.layers, -1);
  override_int("image-size", c.image_size, 0);
  override_int("patch", c.patch, 0);
  override_int("hidden", c.hidden, 0);
  override_int("mlp", c.mlp, 0);
  override_int("heads", c.heads, 0);
  c.num_classes = num_classes;
  c.validate();
  return c;
}

po::options_description device_options() {
  po::options_description d("Device");
  d.add_options()
      ("device", po::value<std::string>()->default_value("cpu"),
       "where models train: cpu, cuda (under MPI: GPU local rank mod the GPUs visible) or cuda:N")
      ("precision", po::value<std::string>()->default_value("tf32"),
       "GPU matrix products: fp32, tf32 (tensor cores, fp32 range) or bf16 (bf16 operands, fp32 "
       "accumulation and fp32 master weights); the CPU always computes in fp32");
  return d;
}

DeviceSpec device_from(const po::variables_map& vm, int threads, int local_rank) {
  DeviceSpec spec = parse_device(vm["device"].as<std::string>());
  spec.precision = vm["precision"].as<std::string>();
  parse_precision(spec.precision);  // refused here, in every build, not only by the CUDA backend
  spec.threads = threads;
  spec.local_rank = local_rank;
  return spec;
}

int threads_from(const po::variables_map& vm) {
  const int t = vm["threads"].as<int>();
  return t > 0 ? t : hardware_threads();
}

TrainConfig training_from(const po::variables_map& vm) {
  TrainConfig t;
  t.batch_size = vm["batch-size"].as<int>();
  t.steps = vm["steps"].as<int64_t>();
  t.validations = vm["validations"].as<int>();
  t.max_validation_examples = vm["max-val-examples"].as<int64_t>();
  t.eval_batch_size = vm["eval-batch-size"].as<int>();
  t.lr = vm["lr"].as<double>();
  t.schedule = parse_lr_schedule(vm["lr-schedule"].as<std::string>());
  t.warmup_ratio = vm["warmup-ratio"].as<double>();
  t.sgd.momentum = vm["momentum"].as<double>();
  t.sgd.nesterov = vm["nesterov"].as<bool>();
  t.sgd.clip_norm = vm["clip-norm"].as<double>();
  t.augmentation.crop = vm["crop"].as<bool>();
  t.augmentation.area_min = vm["area-min"].as<double>();
  t.augmentation.aspect_min = vm["aspect-min"].as<double>();
  t.augmentation.flip = vm["flip"].as<bool>();
  t.augmentation.brightness = vm["brightness"].as<double>();
  t.augmentation.contrast = vm["contrast"].as<double>();
  t.seed = vm["seed"].as<uint64_t>();
  // A negative --seed parses as a huge unsigned value: refused, with the range evolve's table uses.
  MUNET_CHECK(t.seed <= uint64_t(std::numeric_limits<int64_t>::max()), "--seed must be in [0, ",
              std::numeric_limits<int64_t>::max(), "], got ", t.seed);
  t.log_every = vm["log-every"].as<int64_t>();
  t.validate();
  return t;
}

}  // namespace munet::app
