// `munet evolve`: grows one multitask system over a list of tasks by µ2Net evolution (or, with
// --baseline, evolves each task alone from the root with the same compute) and prints the
// per-task table: validation and test accuracy, parameters, activated share of the pool.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "app/commands.h"
#include "app/options.h"
#include "data/tasks.h"
#include "evo/evolution.h"
#include "evo/genealogy_csv.h"
#include "io/model_file.h"
#include "kernels/cpu/cpu_backend.h"

namespace munet::app {
namespace {

po::options_description evolution_options() {
  po::options_description e("Evolution");
  e.add_options()
      ("tasks", po::value<std::string>()->default_value("mnist,cmaterdb_bangla,cmaterdb_devanagari"),
       "comma-separated task list, in the order they join the system")
      ("task-iterations", po::value<int>()->default_value(2), "rounds over the task list")
      ("children-per-task", po::value<int>()->default_value(64), "children sampled in each task's turn")
      ("parallel-slots", po::value<int>()->default_value(8),
       "children per generation (trained on the same data stream)")
      ("validations", po::value<int>()->default_value(5), "validations per child")
      ("steps-per-validation", po::value<int>()->default_value(100), "training steps between validations")
      ("batch-size", po::value<int>()->default_value(512), "training batch size")
      ("max-val-examples", po::value<int64_t>()->default_value(10000), "validate on at most this many examples")
      ("eval-batch-size", po::value<int>()->default_value(256), "batch size for validation and test")
      ("max-image-size", po::value<int>()->default_value(64), "largest image size the image_size mutation may reach")
      ("base", po::value<double>()->default_value(1.0, "1.0"),
       "score = accuracy * base^(accounted params / root params); < 1 favours smaller models")
      ("flops-factor", po::value<bool>()->default_value(false, "false"), "µ2Net+ size and FLOPs factors (s = 0.99)")
      ("baseline", po::value<bool>()->default_value(false, "false"),
       "evolve each task alone from the root (no other task's models) with the same compute");
  return e;
}

po::options_description evolve_output_options() {
  po::options_description o("Root and output");
  o.add_options()
      ("root", po::value<std::string>()->default_value(""),
       "start from this model file (e.g. from munet train --save); its shape replaces the Model "
       "options and its head is dropped (default: a randomly initialised root)")
      ("genealogy", po::value<std::string>()->default_value(""),
       "write every sampled model (parent, mutations, hyperparameters, scores, cost) to this CSV file");
  return o;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int evolve_command(int argc, char** argv) {
  po::options_description all;
  all.add(common_options()).add(evolve_output_options()).add(model_options()).add(evolution_options());
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet evolve [--config FILE] [options]\n"
                     "Grows one multitask ViT system over the task list by µ2Net evolution.",
                     all, vm))
    return 0;
  CpuBackend backend(threads_from(vm));
  EvolutionConfig cfg;
  cfg.root = model_from(vm, 1);  // the class count is each task's
  std::vector<std::unique_ptr<Component>> pretrained;
  const std::string root_file = vm["root"].as<std::string>();
  if (!root_file.empty()) {
    ModelFile m = read_model_file(root_file, backend);
    cfg.root = m.config;
    pretrained = std::move(m.components);
    std::printf("root: %s (trained on %s)\n", root_file.c_str(), m.task.c_str());
  }
  cfg.task_iterations = vm["task-iterations"].as<int>();
  cfg.children_per_task = vm["children-per-task"].as<int>();
  cfg.parallel_slots = vm["parallel-slots"].as<int>();
  cfg.validations = vm["validations"].as<int>();
  cfg.steps_per_validation = vm["steps-per-validation"].as<int>();
  cfg.batch_size = vm["batch-size"].as<int>();
  cfg.max_validation_examples = vm["max-val-examples"].as<int64_t>();
  cfg.eval_batch_size = vm["eval-batch-size"].as<int>();
  cfg.max_image_size = vm["max-image-size"].as<int>();
  cfg.base = vm["base"].as<double>();
  cfg.flops_factor = vm["flops-factor"].as<bool>();
  cfg.baseline = vm["baseline"].as<bool>();
  cfg.seed = vm["seed"].as<uint64_t>();
  const std::vector<std::string> names = split_list(vm["tasks"].as<std::string>());
  MUNET_CHECK(!names.empty(), "--tasks is empty");
  const std::string root = find_data_root(vm["data"].as<std::string>());
  std::vector<TaskData> tasks;
  for (const std::string& n : names) tasks.push_back(load_task(n, root));

  std::printf("munet evolve%s: %zu tasks, %d iterations, %d children per task (%d per generation), "
              "%d x %d steps x batch %d per child; root ViT hidden %d, %d layers, %dx%d; backend %s\n",
              cfg.baseline ? " (baseline: each task alone)" : "", tasks.size(), cfg.task_iterations,
              cfg.children_per_task, cfg.parallel_slots, cfg.validations, cfg.steps_per_validation,
              cfg.batch_size, cfg.root.hidden, cfg.root.layers, cfg.root.image_size, cfg.root.image_size,
              backend.describe().c_str());
  std::fflush(stdout);
  Evolution evo(backend, backend.pool(), cfg, std::move(tasks), &std::cout, std::move(pretrained));
  evo.run();
  std::cout << "\nfinal:\n";
  evo.print_table(std::cout);
  const std::string genealogy = vm["genealogy"].as<std::string>();
  if (!genealogy.empty()) {
    write_genealogy_csv(genealogy, evo);
    std::cout << "genealogy of " << evo.models().size() << " models written to " << genealogy << std::endl;
  }
  return 0;
}

}  // namespace munet::app
