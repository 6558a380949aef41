// `munet evolve`: grows one multitask system over a list of tasks by µ2Net evolution (or, with
// --baseline, one of the baselines with the same compute) and prints the
// per-task table: validation and test accuracy, parameters, activated share of the pool. With
// --output it checkpoints every few generations and, run again, continues from the newest
// complete checkpoint; --resume continues from a given one. --add-tasks and --task-inbox let new
// tasks join a run as later stages (app/task_joining.h).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "app/commands.h"
#include "app/evolve_options.h"
#include "app/options.h"
#include "app/presets.h"
#include "app/run_guard.h"
#include "app/safe_write.h"
#include "app/stop_request.h"
#include "app/task_joining.h"
#include "dist/communicator.h"
#include "evo/device_workers.h"
#include "evo/evolution.h"
#include "evo/genealogy_csv.h"
#include "evo/report.h"
#include "io/checkpoint.h"
#include "io/checkpoint_dir.h"
#include "io/checkpoint_layout.h"
#include "io/model_file.h"
#include "io/run_tasks.h"
#include "io/task_entries.h"
#include "kernels/cpu/cpu_backend.h"
#include "munet/build_config.h"
#include "util/split_list.h"
#if MUNET_MPI
#include "dist/mpi_communicator.h"
#endif

namespace munet::app {
namespace {

po::options_description gpu_evolution_options() {
  po::options_description g("GPU evolution (with --device cuda)");
  g.add_options()
      ("children-per-device", po::value<int>()->default_value(4),
       "children trained at once on the GPU, in [1, 64], each in its own CUDA stream (small models fill the device "
       "together); results do not depend on it")
      ("device-cache-mb", po::value<int64_t>()->default_value(0),
       "GPU memory for frozen pool components shared by the routes in flight, least recently used "
       "dropped first (0: 40% of the GPU's memory)");
  return g;
}

po::options_description evolve_output_options() {
  po::options_description o("Root and output");
  o.add_options()
      ("root", po::value<std::string>()->default_value(""),
       "start from this model file (from munet train --save or munet import); its shape replaces the Model "
       "options and its head is dropped (default: a randomly initialised root)")
      ("genealogy", po::value<std::string>()->default_value(""),
       "write every sampled model (parent, mutations, hyperparameters, scores, cost) to this CSV file")
      ("comm", po::value<std::string>()->default_value("auto"),
       "how ranks communicate: auto (MPI when started by mpiexec or srun, else one process), single, mpi. "
       "With N ranks, a generation's children are split across them; results do not depend on N");
  return o;
}

po::options_description checkpoint_options() {
  po::options_description c("Checkpoints and resume");
  c.add_options()
      ("output", po::value<std::string>()->default_value(""),
       "run folder: checkpoints go to OUTPUT/checkpoints/ckpt-<generations>.h5, and a run started again "
       "with the same OUTPUT continues from its newest complete checkpoint (default: no checkpoints)")
      ("resume", po::value<std::string>()->default_value(""),
       "continue from this checkpoint; options left out are taken from it, options given must match it")
      ("checkpoint-every", po::value<int>()->default_value(1), "write a checkpoint every this many generations")
      ("keep-checkpoints", po::value<int>()->default_value(3), "keep the newest this many checkpoints")
      ("max-generations", po::value<int64_t>()->default_value(0),
       "stop after this many generations in this run, with a checkpoint (0: run to the end)");
  return c;
}

po::options_description growing_options() {
  po::options_description g("Growing the system: tasks that join later (need --output)");
  g.add_options()
      ("add-tasks", po::value<std::string>()->default_value(""),
       "add these tasks (task files and built-in names, comma-separated) as a new stage of the finished or "
       "stopped run in --output: it runs --task-iterations rounds over them, seeded by every best model so far; "
       "earlier tasks keep their models. Task files are copied into OUTPUT/tasks/. Given again (a requeued job), "
       "it adds nothing")
      ("task-inbox", po::value<std::string>()->default_value(""),
       "between turns, take the complete task files (*.h5, in name order) found in this folder as a new stage; "
       "a writer writes NAME.h5.part and renames it to NAME.h5 when complete. Taken files move to DIR/joined/, bad "
       "ones to DIR/rejected/ with NAME.h5.error saying why; the run carries on")
      ("inbox-wait", po::value<double>()->default_value(0),
       "with --task-inbox: when every task has run, look in the inbox for this many more minutes (every 10 s) "
       "before exiting (0: exit at once)");
  return g;
}

// The --tasks entries of a run's first stage: task files by path, built-ins by name.
std::vector<std::string> task_entries_of(const EvolutionState& st) {
  std::vector<std::string> out;
  for (const TaskSignature& t : st.tasks)
    if (t.stage == 0) out.push_back(t.file.empty() ? t.name : t.file);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// Options given explicitly (command line or --config) that differ from the checkpoint's run.
std::vector<std::string> mismatches(const po::variables_map& vm, const EvolutionConfig& mine,
                                    const std::vector<std::string>& my_tasks, const CheckpointInfo& ck) {
  std::vector<std::string> out;
  auto given = [&](const char* opt) { return vm.count(opt) && !vm[opt].defaulted(); };
  auto compare = [&](const char* opt, const std::string& here, const std::string& there) {
    if (given(opt) && here != there) out.push_back(cat("--", opt, " is ", here, " here, ", there, " in the checkpoint"));
  };
  const EvolutionConfig& c = ck.state.config;
  compare("tasks", joined(my_tasks), joined(task_entries_of(ck.state)));
#define MUNET_FIELD_COMPARE(type, member, name, ...) \
  compare(option_name(name).c_str(), value_text<type>(mine.member), value_text<type>(c.member));
  MUNET_EVOLUTION_FIELDS(MUNET_FIELD_COMPARE)
#undef MUNET_FIELD_COMPARE
  compare("root", vm["root"].as<std::string>(), ck.run.root_file);
  for (const char* opt : {"model", "layers", "image-size", "patch", "hidden", "mlp", "heads"})
    if (given(opt)) {
      auto shape = [](const ViTConfig& r) {
        return cat("hidden ", r.hidden, ", mlp ", r.mlp, ", heads ", r.heads, ", ", r.layers, " layers, patch ",
                   r.patch, ", ", r.image_size, "x", r.image_size);
      };
      if (shape(mine.root) != shape(c.root))
        out.push_back(cat("the model options give ", shape(mine.root), ", the checkpoint's root has ", shape(c.root)));
      break;
    }
  return out;
}

// Prints a checkpoint's write or read progress every few seconds (large pools take a while).
IoProgress progress_printer(const char* what) {
  const auto start = std::chrono::steady_clock::now();
  auto last = std::make_shared<double>(0.0);
  return [=](int64_t done, int64_t total) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (t - *last < 5.0) return;
    *last = t;
    std::printf("  %s: %.2f of %.2f GB (%.0f MB/s)\n", what, done / 1e9, total / 1e9, done / 1e6 / t);
    std::fflush(stdout);
  };
}

}  // namespace

namespace {
int evolve(const po::variables_map& vm, int argc, char** argv, Communicator& comm);
}  // namespace

int evolve_command(int argc, char** argv) {
  po::options_description all;
  all.add(common_options())
      .add(device_options())
      .add(gpu_evolution_options())
      .add(evolve_output_options())
      .add(checkpoint_options())
      .add(run_lock_options())
      .add(growing_options())
      .add(model_options())
      .add(evolution_options());
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: munet evolve [--config FILE] [options]\n"
                     "Grows one multitask ViT system over the task list by µ2Net evolution.",
                     all, vm))
    return 0;
  install_stop_handlers();  // SIGUSR1/SIGTERM: finish the generation, checkpoint, exit kExitStopped
  std::unique_ptr<Communicator> comm = make_communicator(vm["comm"].as<std::string>());
  if (comm->size() == 1) return evolve(vm, argc, argv, *comm);
  // Several ranks: rank 0 speaks for the job; a rank that fails says so and ends the whole job
  // (MPI_Abort), so that no rank waits forever on it.
  const std::string who = cat("munet evolve: rank ", comm->rank(), " of ", comm->size());
  try {
    if (comm->rank() != 0 && !std::freopen("/dev/null", "w", stdout)) fail("cannot silence stdout");
    return evolve(vm, argc, argv, *comm);
  } catch (const Error& e) {
    std::cerr << who << ": error: " << e.what() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << who << ": unexpected error: " << e.what() << std::endl;
  }
  comm->abort(1);
  return 1;  // not reached (abort ends every rank); for compilers that do not trust [[noreturn]] virtuals
}

namespace {

int evolve(const po::variables_map& vm, int argc, char** argv, Communicator& comm) {
  check_evolve_paths(vm);  // every rank sees the same folders before any work (issue 16)
  const std::unique_ptr<RunLock> lock = comm.rank() == 0 ? lock_run_folder(vm) : nullptr;
  // Ranks on one node share its cores unless --threads says otherwise.
  const int threads = vm["threads"].as<int>() > 0 ? vm["threads"].as<int>()
                                                   : std::max(1, hardware_threads() / comm.local_size());
  // The pool lives in host memory (checkpoints, ranks' shards); with a GPU, children train there.
  CpuBackend backend(threads);
  int64_t gpu_memory = 0;
  const DeviceSpec device = resolve_device(device_from(vm, threads, comm.local_rank()), &gpu_memory);
  std::unique_ptr<DeviceWorkers> workers;
  const int n = vm["children-per-device"].as<int>();  // checked with every device, not only cuda
  MUNET_CHECK(n >= 1 && n <= 64, "--children-per-device must be in [1, 64], got ", n);
  const int64_t cache_mb = vm["device-cache-mb"].as<int64_t>();
  MUNET_CHECK(cache_mb >= 0, "--device-cache-mb must be >= 0, got ", cache_mb);
  if (device.type == DeviceType::CUDA) {
    std::vector<std::unique_ptr<Backend>> backends;
    for (int i = 0; i < n; ++i) backends.push_back(make_backend(device));
    workers = std::make_unique<DeviceWorkers>(std::move(backends), std::max(1, threads / n),
                                              cache_mb > 0 ? cache_mb << 20 : gpu_memory / 10 * 4);
  }
  EvolutionConfig cfg = evolution_config_from(vm);
  std::vector<std::string> names = split_list(vm["tasks"].as<std::string>());
  MUNET_CHECK(!names.empty(), "--tasks is empty");
  const std::string data_option = vm["data"].as<std::string>();
  const std::string output = vm["output"].as<std::string>();
  const int every = vm["checkpoint-every"].as<int>(), keep = vm["keep-checkpoints"].as<int>();
  const int64_t max_generations = vm["max-generations"].as<int64_t>();
  MUNET_CHECK(every >= 1, "--checkpoint-every must be >= 1, got ", every);
  MUNET_CHECK(keep >= 1, "--keep-checkpoints must be >= 1, got ", keep);
  MUNET_CHECK(max_generations >= 0, "--max-generations must be >= 0, got ", max_generations);
  const std::vector<std::string> add_tasks = split_list(vm["add-tasks"].as<std::string>());
  const std::string inbox = vm["task-inbox"].as<std::string>();
  const double inbox_wait = vm["inbox-wait"].as<double>();
  MUNET_CHECK(output.empty() ? add_tasks.empty() && inbox.empty() : true,
              "--add-tasks and --task-inbox grow a run: they need --output (the run folder)");
  MUNET_CHECK(inbox_wait >= 0, "--inbox-wait must be >= 0 minutes, got ", inbox_wait);
  MUNET_CHECK(inbox_wait == 0 || !inbox.empty(), "--inbox-wait needs --task-inbox");
  if (!inbox.empty() && comm.rank() == 0) {  // rank 0 alone reads the inbox
    struct stat st {};
    MUNET_CHECK(::stat(inbox.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "--task-inbox ", inbox,
                ": not a folder (create it first; writers drop task files into it)");
  }
  RunInfo run;
  for (int i = 0; i < argc; ++i) run.command_line += (i ? " " : "munet ") + std::string(argv[i]);
  run.root_file = vm["root"].as<std::string>();

  // Where to continue from: --resume, else the newest checkpoint in --output that loads.
  std::string resume = vm["resume"].as<std::string>();
  std::optional<Checkpoint> ck;
  auto accept = [&](const std::string& path, const CheckpointInfo& info) {
    const std::vector<std::string> diffs = mismatches(vm, cfg, names, info);
    if (!diffs.empty()) {
      std::string all_diffs;
      for (const auto& d : diffs) all_diffs += "\n  " + d;
      fail(path, ": the options do not match the run this checkpoint continues (leave them out to take the "
           "checkpoint's, or start a new run in another --output):", all_diffs);
    }
    std::printf("resuming from %s: %lld of %lld generations done\n", path.c_str(), (long long)info.generations_done,
                (long long)info.total_generations);
    std::fflush(stdout);
  };
  auto read = [&](const std::string& path) {
    ck.reset();  // one pool in memory at a time (a checkpoint another rank could not read is dropped)
    ck.emplace(read_checkpoint(path, backend, progress_printer("reading checkpoint"), Shard{comm.rank(), comm.size()}));
  };
  if (!resume.empty()) {
    accept(resume, read_checkpoint_info(resume));
    read(resume);
  } else if (!output.empty()) {
    resume = read_newest_checkpoint(output, comm, accept, read, [](const std::string& why) {
      std::printf("skipping a checkpoint that does not load: %s; trying the previous one\n", why.c_str());
    });
  }
  std::ostream* log = comm.rank() == 0 ? &std::cout : nullptr;
  std::unique_ptr<Evolution> evo;
  if (!resume.empty()) {  // every rank read it (ck holds it)
    run.root_file = ck->run.root_file;
    std::vector<TaskData> tasks =
        load_run_tasks(ck->state, output.empty() ? run_dir_of_checkpoint(resume) : output, data_option);
    evo = std::make_unique<Evolution>(backend, backend.pool(), std::move(ck->state), std::move(ck->pool),
                                      std::move(tasks), log, &comm);
    ck.reset();
  } else {
    std::vector<std::unique_ptr<Component>> pretrained;
    if (!run.root_file.empty()) {
      // Model options given with --root would be dropped: refused (a preset's own are not the user's).
      const std::string preset_name = vm.count("preset") ? vm["preset"].as<std::string>() : "";
      const std::string preset_text = preset_name.empty() ? "" : preset(preset_name).options;
      for (const char* opt : {"model", "layers", "image-size", "patch", "hidden", "mlp", "heads"}) {
        const bool given = vm.count(opt) && !vm[opt].defaulted() && preset_text.find(cat(opt, " =")) == std::string::npos;
        MUNET_CHECK(!given, "--", opt, " with --root: munet evolve takes the whole shape from the root file ",
                    run.root_file, " (cut or resize it first with munet train --root --save, or munet import "
                    "--layers/--image-size)");
      }
      ModelFile m = read_model_file(run.root_file, backend);
      int adapters = 0;
      for (const auto& comp : m.components) adapters += comp->kind() == ComponentKind::Adapter;
      MUNET_CHECK(adapters == 0, "--root ", run.root_file, ": the model has ", adapters, " adapter component",
                  adapters == 1 ? "" : "s", " (an evolved model from munet export); a root must be a plain ViT "
                  "(munet train --save or munet import), whose components all become the shared root of the pool");
      cfg.root = m.config;
      cfg.root.num_classes = 1;  // the class count is each task's (a file imported with --drop-head has none)
      pretrained = std::move(m.components);
      if (m.original_posembed) pretrained.push_back(std::move(m.original_posembed));
      std::printf("root: %s (trained on %s)\n", run.root_file.c_str(), m.task.c_str());
    }
    std::vector<TaskData> tasks = load_task_entries(names, data_option);
    MUNET_CHECK(add_tasks.empty(), "--add-tasks adds a stage to a run: ", output,
                " has no checkpoint to add to (start the run with --tasks first)");
    evo = std::make_unique<Evolution>(backend, backend.pool(), cfg, std::move(tasks), log, std::move(pretrained),
                                      &comm);
    if (!output.empty()) record_task_copies(*evo, output, comm);
  }
  if (workers) evo->use_workers(workers.get());
  const bool added = !add_tasks.empty() && add_task_stage(*evo, add_tasks, output, data_option, comm);
  const EvolutionConfig& c = evo->config();
  const std::string backend_text =
      workers ? cat(workers->backend(0).describe(), " x ", workers->size(), " children at once, ",
                    workers->cache().budget() >> 20, " MiB cache; pool on ", backend.describe())
              : backend.describe();
  const std::string baseline = c.baseline == "none" ? "" : " (baseline " + c.baseline_plan().text() + ")";
  std::printf("munet evolve%s: %zu tasks, %d iterations, %d children per task (%d per generation), "
              "%d x %d steps%s x batch %d per child; root ViT hidden %d, %d layers, %dx%d; backend %s; %d rank%s (%s)\n",
              baseline.c_str(), evo->tasks().size(), c.turn_iterations(), c.turn_children(), c.parallel_slots,
              c.child_validations(), c.steps_per_validation, c.epoch_cap ? " (at most one epoch)" : "", c.batch_size,
              c.root.hidden, c.root.layers, c.root.image_size, c.root.image_size, backend_text.c_str(),
              comm.size(), comm.size() == 1 ? "" : "s", comm.name().c_str());
  if (output.empty()) std::printf("no --output: nothing is checkpointed\n");
  std::fflush(stdout);

  auto save = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string path = checkpoint_path(output, evo->generations_done());
    ParallelIo io;
    io.rank = comm.rank();
    io.size = comm.size();
#if MUNET_MPI
    if (auto* mpi = dynamic_cast<MpiCommunicator*>(&comm)) io.comm = mpi->comm();
#endif
    io.writer_of = [&](ComponentId id) { return evo->pool().at(id).home; };
    write_or_explain(path, partial_name(path), checkpoint_bytes(*evo, comm), comm.rank() == 0,
                     [&] { write_checkpoint(path, *evo, run, io, progress_printer("writing checkpoint")); },
                     "the previous checkpoint (if any) is intact: free some space and run the same command again "
                     "to continue from it");
    if (comm.rank() == 0) prune_checkpoints(output, keep);
    std::printf("  checkpoint %s (%lld/%lld generations, %.2f s)\n", path.c_str(), (long long)evo->generations_done(),
                (long long)evo->total_generations(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::fflush(stdout);
  };
  // A new stage is recorded in a checkpoint before any of its training.
  if (added) save();
  int64_t ran = 0;
  double waited_since = -1;  // when the run last found nothing left to do (--inbox-wait)
  auto now = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
  while (max_generations == 0 || ran < max_generations) {
    if (!inbox.empty() && evo->state().progress.generation == 0) {  // a turn boundary
      const InboxJoin join = join_from_inbox(*evo, inbox, output, data_option, comm);
      if (join.tasks > 0) {
        save();
        finish_inbox_join(join, inbox, comm);
        waited_since = -1;
      }
    }
    if (evo->done()) {
      if (inbox.empty()) break;
      if (comm.any(stop_requested()))  // a requeued job goes on waiting on the inbox
        return report_stop(checkpoint_path(output, evo->generations_done()), evo->generations_done(),
                           evo->total_generations());
      if (waited_since < 0) {
        waited_since = now();
        if (inbox_wait > 0)
          std::printf("every task has run; looking in the task inbox %s for %g more minutes\n", inbox.c_str(),
                      inbox_wait);
        std::fflush(stdout);
      }
      const double left = inbox_wait * 60 - (now() - waited_since);
      if (comm.any(comm.rank() == 0 && left <= 0)) break;  // rank 0's clock decides for every rank
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(10.0, left)));
      continue;
    }
    evo->step();
    ++ran;
    if (lock) lock->refresh();  // throws when another process took the run folder
    const bool stop = comm.any(stop_requested()) && !evo->done();  // every rank stops after the same generation
    if (stop)  // and names the same signal, whichever rank it reached
      for (const std::string& sig : comm.allgather(std::to_string(stop_signal())))
        if (std::stoi(sig) != 0) adopt_stop_signal(std::stoi(sig));
    if (!output.empty() && (evo->generations_done() % every == 0 || evo->done() || ran == max_generations || stop))
      save();
    if (stop)
      return report_stop(output.empty() ? "" : checkpoint_path(output, evo->generations_done()),
                         evo->generations_done(), evo->total_generations());
  }
  if (!evo->done()) {
    std::printf("stopped after %lld generations (--max-generations); %lld of %lld done. %s\n", (long long)ran,
                (long long)evo->generations_done(), (long long)evo->total_generations(),
                output.empty() ? "Nothing was saved (no --output): running the command again starts from the "
                                 "beginning."
                               : "Run the same command again to continue.");
    return 0;
  }
  std::cout << "\nfinal:\n";
  print_task_table(std::cout, evo->summaries(), evo->pool());
  const std::string genealogy = vm["genealogy"].as<std::string>();
  if (!genealogy.empty() && comm.rank() == 0) {
    write_genealogy_csv(genealogy, *evo);
    std::cout << "genealogy of " << evo->models().size() << " models written to " << genealogy << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace munet::app
