// Command-line and config-file option groups shared by munet's subcommands (model shape,
// training hyperparameters, augmentation), and the parsing rules: command line first, then an
// INI-style --config file for anything not given on the command line, then a --preset.
#pragma once
#include <boost/program_options.hpp>
#include <string>

#include "kernels/make_backend.h"
#include "nn/vit_config.h"
#include "train/trainer.h"

namespace munet::app {

namespace po = boost::program_options;

// The largest --threads accepted: 4 x the hardware threads, at most 1024; and its --help text.
int max_threads();
std::string threads_help();
po::options_description common_options();       // help, config, data, threads
po::options_description train_task_options();   // munet train's seed, task, logging and output
po::options_description model_options();
po::options_description training_options();
po::options_description augmentation_options();
po::options_description device_options();       // --device, --precision

// Parses argv (after the subcommand), the --config file and, where `all` has a --preset option,
// the preset into vm, each filling only what the ones before left out; `positional` names the
// options that bare arguments fill (e.g. a checkpoint file). Returns false when --help was asked
// for (after printing usage + options).
bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& all,
                   po::variables_map& vm, const po::positional_options_description* positional = nullptr);

// The model shape from --model and its overrides, with the task's class count.
ViTConfig model_from(const po::variables_map& vm, int num_classes);
TrainConfig training_from(const po::variables_map& vm);
// --device and --precision (a cuda device without an index: GPU local_rank mod the GPUs seen).
DeviceSpec device_from(const po::variables_map& vm, int threads, int local_rank);
// --threads, with 0 meaning all hardware threads.
int threads_from(const po::variables_map& vm);

}  // namespace munet::app
