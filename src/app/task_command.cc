// `munet task pack` (a folder of images, an .npz or an IDX pair becomes a task file) and
// `munet task info` (what a task file holds).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "app/commands.h"
#include "app/options.h"
#include "util/path_checks.h"
#include "data/pack_source.h"
#include "data/task_checks.h"
#include "io/task_file.h"

namespace munet::app {
namespace {

// A "VmRSS:"/"VmHWM:" line of /proc/self/status, in KiB (0 where there is none).
int64_t memory_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::strlen(field)));
  return 0;
}

constexpr char kPackUsage[] =
    "usage: munet task pack SOURCE --name NAME --output FILE.h5 [options]\n"
    "Makes a task file (HDF5, io/SCHEMA.md) that munet train --task, munet predict --task and munet evolve --tasks\n"
    "take. SOURCE is one of:\n"
    "  a folder with one subfolder per class holding PNG and JPEG images (.png, .jpg, .jpeg; hidden and other\n"
    "    files are skipped). A class's label is its subfolder's index in byte-sorted order of the names, and the\n"
    "    class names are the folder names. Colours: grey images stay 1 channel; RGB stays 3 channels; RGBA and\n"
    "    palette images become RGB with the alpha dropped (not blended); 16-bit samples are scaled to 8 bits;\n"
    "    a folder mixing grey and colour images becomes 3 channels (grey repeated). Images of different sizes\n"
    "    are refused, naming two of them, unless --size S resizes every image to S x S (bilinear).\n"
    "  a NumPy .npz holding an images array (N,H,W) or (N,H,W,C), C = 1, 3 or 4 (alpha dropped), uint8 or\n"
    "    bool (True = 255), and a labels array (N,) of integers 0, 1, ... (names: --images-key, --labels-key).\n"
    "  an IDX pair (MNIST layout, gzipped or not): IMAGES,LABELS, or the images file alone when the labels\n"
    "    file is named like it with labels-idx1 for images-idx3.\n"
    "Splits: --test SOURCE gives the test set (same kind of source; a folder must have the same classes),\n"
    "else the first --test-fraction of the shuffled examples are held out as test; the first --val-fraction\n"
    "of the rest (shuffled) are validation, the remainder train. The shuffle is fixed: Fisher-Yates with\n"
    "munet's xoshiro256** generator seeded by XXH3-64 of the task name, the same on every machine.\n"
    "The file is written under a temporary name and renamed when complete.";

int pack(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("source", po::value<std::string>(), "what to pack")(
      "name", po::value<std::string>(), "the task's name (letters, digits, '_', '-', '.'), as --tasks lists show it")(
      "output", po::value<std::string>(), "the task file to write (e.g. NAME.h5)")(
      "test", po::value<std::string>()->default_value(""), "a separate test set (default: held out of SOURCE)")(
      "test-fraction", po::value<double>()->default_value(0.2, "0.2"),
      "without --test: share of the examples held out as test")(
      "val-fraction", po::value<double>()->default_value(0.1, "0.1"),
      "share of the remaining training examples held out as validation (what evolution scores on)")(
      "size", po::value<int>()->default_value(0), "image folders: resize every image to SIZE x SIZE (0: keep)")(
      "images-key", po::value<std::string>()->default_value("images"), ".npz: the images array's name")(
      "labels-key", po::value<std::string>()->default_value("labels"), ".npz: the labels array's name");
  po::positional_options_description pos;
  pos.add("source", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, kPackUsage, opts, vm, &pos)) return 0;
  MUNET_CHECK(vm.count("source"), "no SOURCE given (usage: munet task pack SOURCE --name NAME --output FILE.h5)");
  MUNET_CHECK(vm.count("name"), "no --name given (usage: munet task pack SOURCE --name NAME --output FILE.h5)");
  MUNET_CHECK(vm.count("output"), "no --output given (usage: munet task pack SOURCE --name NAME --output FILE.h5)");
  const std::string source = vm["source"].as<std::string>(), name = vm["name"].as<std::string>(),
                    output = vm["output"].as<std::string>(), test_source = vm["test"].as<std::string>();
  for (char c : name)
    MUNET_CHECK(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_-.", c), "--name '", name,
                "': use letters, digits, '_', '-' and '.' only");
  MUNET_CHECK(!name.empty(), "--name is empty");
  refuse_output_is_input("--output", output, {{"SOURCE", source}, {"--test", test_source}});
  check_file_writable("--output", output);
  const double test_fraction = vm["test-fraction"].as<double>(), val_fraction = vm["val-fraction"].as<double>();
  MUNET_CHECK(test_fraction > 0 && test_fraction < 1, "--test-fraction must be in (0, 1), got ", test_fraction);
  MUNET_CHECK(val_fraction > 0 && val_fraction < 1, "--val-fraction must be in (0, 1), got ", val_fraction);
  PackOptions options;
  options.images_key = vm["images-key"].as<std::string>();
  options.labels_key = vm["labels-key"].as<std::string>();
  options.size = vm["size"].as<int>();
  MUNET_CHECK(options.size >= 0 && options.size <= 4096, "--size must be in [0, 4096], got ", options.size);

  PackSource train = read_pack_source(source, options);
  PackSource test;
  if (!test_source.empty()) {
    test = read_pack_source(test_source, options);
    MUNET_CHECK(test.class_names == train.class_names, test_source, ": its class folders differ from ", source,
                "'s (a test folder needs the same class subfolders)");
  }
  TaskData header;
  header.name = name;
  header.num_classes = std::max(train.num_classes, test.num_classes);
  header.class_names = train.class_names.empty() ? numbered_class_names(header.num_classes) : train.class_names;
  header.source = test_source.empty() ? train.description : cat(train.description, "; test: ", test.description);

  // Shuffle once, in place; the splits are then contiguous rows.
  ImageSet& all = train.examples;
  permute_in_place(all, pack_order(all.size, name));
  const int64_t n_test = test_source.empty() ? int64_t(std::floor(double(all.size) * test_fraction)) : 0;
  const int64_t n_val = int64_t(std::floor(double(all.size - n_test) * val_fraction));
  TaskSplits splits;
  splits.test = test_source.empty() ? SplitView{&all, 0, n_test} : SplitView{&test.examples, 0, test.examples.size};
  splits.validation = {&all, n_test, n_test + n_val};
  splits.train = {&all, n_test + n_val, all.size};
  std::printf("munet task pack: %s\n", header.source.c_str());
  const std::string hash = write_task_file(output, header, splits);
  std::printf("wrote %s: task %s, %d classes, %lld train / %lld validation / %lld test, %dx%dx%d images, hash %s\n",
              output.c_str(), name.c_str(), header.num_classes, (long long)splits.train.size(),
              (long long)splits.validation.size(), (long long)splits.test.size(), all.height, all.width, all.channels,
              hash.c_str());
  return 0;
}

int info(int argc, char** argv) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("file", po::value<std::string>(), "task file")(
      "verify", po::bool_switch(),
      "also read every array (chunk by chunk, as training does), check labels and classes, recompute the content "
      "hash, and print the memory that took");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet task info FILE.h5 [--verify]\nShows what a task file holds (its attributes; "
                     "with --verify, its data checked).",
                     opts, vm, &pos))
    return 0;
  MUNET_CHECK(vm.count("file"), "no task file given (usage: munet task info FILE.h5)");
  const std::string path = vm["file"].as<std::string>();
  const TaskFileInfo info = read_task_file_info(path);
  const TaskData& h = info.header;
  std::string names;
  for (size_t c = 0; c < h.class_names.size() && c < 20; ++c) names += (c ? ", " : "") + h.class_names[c];
  if (h.class_names.size() > 20) names += cat(", ... (", h.class_names.size(), " in all)");
  std::printf("task file:  %s (munet-task version %lld)\n", path.c_str(), (long long)info.format_version);
  std::printf("name:       %s\n", h.name.c_str());
  std::printf("classes:    %d (%s)\n", h.num_classes, names.c_str());
  std::printf("splits:     %lld train / %lld validation / %lld test\n", (long long)info.sizes[0],
              (long long)info.sizes[1], (long long)info.sizes[2]);
  std::printf("images:     %lldx%lldx%lld uint8 (height x width x channels)\n", (long long)info.height,
              (long long)info.width, (long long)info.channels);
  std::printf("source:     %s\n", h.source.c_str());
  std::printf("hash:       %s\n", h.content_hash.c_str());
  if (vm["verify"].as<bool>()) {
    const int64_t before = memory_kib("VmRSS:");
    const TaskData task = read_task_file(path);
    const double images = double(task.train.pixels.size() + task.validation.pixels.size() + task.test.pixels.size());
    const double peak = double(memory_kib("VmHWM:") - before) * 1024.0;
    std::printf("verified:   every label in range, every class trained, content hash matches; %.1f MB of images "
                "read with a peak of %.1f MB more memory (%.2fx)\n",
                images / 1e6, peak / 1e6, peak / images);
  }
  return 0;
}

}  // namespace

int task_command(int argc, char** argv) {
  const char* usage =
      "usage: munet task pack SOURCE --name NAME --output FILE.h5 [options]   make a task file\n"
      "       munet task info FILE.h5                                         show what a task file holds\n"
      "(munet task pack --help for sources, colour rules and splits)\n";
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  const std::string sub = argv[1];
  if (sub == "pack") return pack(argc - 1, argv + 1);
  if (sub == "info") return info(argc - 1, argv + 1);
  std::cerr << "munet task: unknown subcommand '" << sub << "'\n" << usage;
  return 2;
}

}  // namespace munet::app
