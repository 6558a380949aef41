// Checkpoints: a resumed evolution continues bit-identically (mid-turn and between turns); a
// process killed while writing leaves the previous checkpoint loadable and resumable; every
// kind of bad file gets a clear error naming the file and the object.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "data/task_checks.h"
#include "dist/communicator.h"
#include "evo/evolution.h"
#include "io/checkpoint.h"
#include "io/checkpoint_dir.h"
#include "io/checkpoint_layout.h"
#include "io/chunk_checksums.h"
#include "io/file_digest.h"
#include "io/model_file.h"
#include "kernels/cpu/cpu_backend.h"
#include "nn/vit_config.h"
#include "support/data_root.h"
#include "support/evolution_fingerprint.h"
#include "support/expect_error.h"
#include "support/flip_bytes.h"
#include "support/test_files.h"

namespace munet {
namespace {

std::unique_ptr<Evolution> resume(const std::string& path, CpuBackend& be, const std::string& root) {
  Checkpoint ck = read_checkpoint(path, be);
  return std::make_unique<Evolution>(be, be.pool(), std::move(ck.state), std::move(ck.pool), test::two_character_tasks(root), nullptr);
}

// Automatic resume in one process: the path of the newest checkpoint of `dir` that loads (read
// into *read), each newer one's reason in *skipped.
std::string read_newest(const std::string& dir, CpuBackend& be, std::optional<Checkpoint>* read,
                        std::vector<std::string>* skipped) {
  const std::unique_ptr<Communicator> one = single_process_communicator();
  return read_newest_checkpoint(
      dir, *one, [](const std::string&, const CheckpointInfo&) {},
      [&](const std::string& path) { read->emplace(read_checkpoint(path, be)); },
      [&](const std::string& why) { skipped->push_back(why); });
}

TEST(Checkpoint, ResumeContinuesBitIdentically) {
  MUNET_REQUIRE_DATA_ROOT(root);
  test::TempDir dir;
  CpuBackend be(2);
  Evolution straight(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  straight.run();
  const std::string want = test::fingerprint(straight);
  ASSERT_EQ(straight.total_generations(), 8);
  // Stop after 3 generations (mid-turn) and after 4 (between turns), resume, run to the end.
  for (int stop : {3, 4}) {
    Evolution first(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
    for (int g = 0; g < stop; ++g) first.step();
    const std::string path = dir.file(cat("stop", stop, ".h5"));
    write_checkpoint(path, first, {});
    auto second = resume(path, be, root);
    EXPECT_EQ(test::fingerprint(*second), test::fingerprint(first)) << "the read-back state differs, stop " << stop;
    EXPECT_EQ(second->generations_done(), stop);
    second->run();
    EXPECT_TRUE(second->done());
    EXPECT_EQ(test::fingerprint(*second), want) << "resumed after " << stop << " generations";
  }
}

TEST(Checkpoint, KilledWriterLeavesThePreviousCheckpoint) {
  MUNET_REQUIRE_DATA_ROOT(root);
  test::TempDir dir;
  CpuBackend be(2);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  evo.step();
  evo.step();
  const std::string path = checkpoint_path(dir.path(), 2);
  write_checkpoint(path, evo, {});
  const std::string at_two = test::fingerprint(evo);
  evo.step();
  // A child process writes the next checkpoint over the same name and is killed (SIGKILL)
  // after its first component.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    write_checkpoint(path, evo, {}, {}, [](int64_t, int64_t) { raise(SIGKILL); });
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(std::filesystem::exists(path + ".partial"));
  // The previous checkpoint is found, loads, and resumes to the same end as a straight run.
  std::vector<std::string> skipped;
  std::optional<Checkpoint> ck;
  ASSERT_EQ(read_newest(dir.path(), be, &ck, &skipped), path);
  EXPECT_TRUE(skipped.empty());
  auto resumed = std::make_unique<Evolution>(be, be.pool(), std::move(ck->state), std::move(ck->pool),
                                             test::two_character_tasks(root), nullptr);
  EXPECT_EQ(test::fingerprint(*resumed), at_two);
  resumed->run();
  Evolution straight(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  straight.run();
  EXPECT_EQ(test::fingerprint(*resumed), test::fingerprint(straight));
  // Keeping the newest checkpoint removes the dead writer's partial file.
  prune_checkpoints(dir.path(), 1);
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(Checkpoint, NewestCompleteCheckpointAndPruning) {
  MUNET_REQUIRE_DATA_ROOT(root);
  test::TempDir dir;
  CpuBackend be(2);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  for (int g = 1; g <= 3; ++g) {
    evo.step();
    write_checkpoint(checkpoint_path(dir.path(), g), evo, {});
  }
  // A damaged newer file is skipped with its reason.
  test::write_bytes(checkpoint_path(dir.path(), 4), {'n', 'o', 't'});
  std::vector<std::string> skipped;
  std::optional<Checkpoint> ck;
  EXPECT_EQ(read_newest(dir.path(), be, &ck, &skipped), checkpoint_path(dir.path(), 3));
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("not an HDF5 file"), std::string::npos) << skipped[0];
  prune_checkpoints(dir.path(), 2);
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(dir.path(), 4)));
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(dir.path(), 3)));
  EXPECT_FALSE(std::filesystem::exists(checkpoint_path(dir.path(), 2)));
  EXPECT_FALSE(std::filesystem::exists(checkpoint_path(dir.path(), 1)));
  skipped.clear();
  EXPECT_EQ(read_newest(test::TempDir().path(), be, &ck, &skipped), "");
  EXPECT_TRUE(skipped.empty());
}

// Edits a written checkpoint with the HDF5 API, as a writer could have written it: the /digest
// is rewritten, so that the reader's other checks are what meets the edit.
template <class Edit>
void edit(const std::string& path, Edit edit) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  edit(f);
  H5Ldelete(f, "/digest", H5P_DEFAULT);
  h5::write_digest_table(f, is_parameter_dataset, {path, "/"});
  H5Fclose(f);
}

TEST(Checkpoint, BadFilesGiveClearErrors) {
  MUNET_REQUIRE_DATA_ROOT(root);
  test::TempDir dir;
  CpuBackend be(1);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  evo.step();
  const std::string good = dir.file("good.h5");
  write_checkpoint(good, evo, {});
  auto copy = [&](const std::string& name) {
    const std::string p = dir.file(name);
    std::filesystem::copy_file(good, p);
    return p;
  };
  EXPECT_ERROR(read_checkpoint(dir.file("missing.h5"), be), "missing.h5", "cannot read checkpoint");
  test::write_bytes(dir.file("text.h5"), {'h', 'i', '\n'});
  EXPECT_ERROR(read_checkpoint(dir.file("text.h5"), be), "text.h5", "not an HDF5 file");

  const std::string truncated = copy("truncated.h5");
  std::filesystem::resize_file(truncated, std::filesystem::file_size(good) / 2);
  EXPECT_ERROR(read_checkpoint(truncated, be), "truncated.h5", "truncated or damaged");

  const std::string version = copy("version.h5");
  edit(version, [](hid_t f) {
    const int64_t v = 7;
    const hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
  });
  EXPECT_ERROR(read_checkpoint(version, be), "version.h5", "format version 7",
               cat("reads versions 1 to ", kCheckpointVersion));

  const std::string partial = copy("partial.h5");
  edit(partial, [](hid_t f) { H5Adelete(f, "complete"); });
  EXPECT_ERROR(read_checkpoint(partial, be), "partial.h5", "incomplete checkpoint");

  const std::string no_scores = copy("no_scores.h5");
  edit(no_scores, [](hid_t f) { H5Ldelete(f, "/models/score", H5P_DEFAULT); });
  EXPECT_ERROR(read_checkpoint(no_scores, be), "no_scores.h5", "dataset /models/score is missing");

  const std::string short_column = copy("short_column.h5");
  edit(short_column, [](hid_t f) {
    H5Ldelete(f, "/models/quality", H5P_DEFAULT);
    const hsize_t n = 1;
    const double v = 0.5;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t ds = H5Dcreate2(f, "/models/quality", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
    H5Dclose(ds);
    H5Sclose(space);
  });
  EXPECT_ERROR(read_checkpoint(short_column, be), "short_column.h5", "/models/quality has shape [1], expected [");

  // A parameter dataset of the wrong shape.
  const ComponentId first = evo.pool().entries().begin()->first;
  const std::string kernel = cat("/pool/components/", std::string(8 - std::to_string(first).size(), '0'), first,
                                 "/values/kernel");
  const std::string misshaped = copy("misshaped.h5");
  edit(misshaped, [&](hid_t f) {
    H5Ldelete(f, kernel.c_str(), H5P_DEFAULT);
    const hsize_t dims[2] = {2, 2};
    const float v[4] = {};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t ds = H5Dcreate2(f, kernel.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(space);
  });
  EXPECT_ERROR(read_checkpoint(misshaped, be), "misshaped.h5", kernel + " has shape [2, 2], expected [192, 16]");

  // A model file is not a checkpoint.
  std::vector<const Component*> route;
  for (ComponentId id : evo.models().at(evo.root()).route) route.push_back(evo.pool().at(id).component.get());
  write_model_file(dir.file("model.h5"), evo.config().root, "x", route, be);
  EXPECT_ERROR(read_checkpoint(dir.file("model.h5"), be), "model.h5", "not a munet checkpoint (format 'munet-model')");

  // Data that does not match the run's tasks.
  Checkpoint ck = read_checkpoint(good, be);
  std::vector<TaskData> swapped = test::two_character_tasks(root);
  std::swap(swapped[0], swapped[1]);
  EXPECT_ERROR(Evolution(be, be.pool(), std::move(ck.state), std::move(ck.pool), std::move(swapped), nullptr),
               "task 0 is cmaterdb_devanagari", "data loaded now is cmaterdb_bangla");
}

// The byte offset in `path` of the first occurrence of `text` (-1: none).
long find_text(const std::string& path, const std::string& text) {
  std::ifstream in(path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = all.find(text);
  return at == std::string::npos ? -1 : long(at);
}

// A flipped byte anywhere is found when it is read, and the error names the file, what was
// damaged and both hashes: a parameter chunk, a momentum chunk, a table value, a string attribute.
TEST(Checkpoint, DamagedBytesAreNamed) {
  MUNET_REQUIRE_DATA_ROOT(root);
  test::TempDir dir;
  CpuBackend be(1);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  evo.step();
  const std::string good = dir.file("good.h5");
  RunInfo run;
  run.command_line = "munet evolve --output marked-for-a-flip";
  write_checkpoint(good, evo, run);
  ComponentId moving = -1;
  for (const auto& [id, e] : evo.pool().entries())
    if (e.component->has_optimizer_state() && e.component->kind() == ComponentKind::Head) moving = id;
  ASSERT_GE(moving, 0) << "no trained head in the pool";
  const std::string group = cat("/pool/components/", std::string(8 - std::to_string(moving).size(), '0'), moving);
  for (const char* part : {"values", "velocity"}) {
    const std::string damaged = dir.file(cat(part, ".h5")), kernel = group + "/" + part + "/kernel";
    std::filesystem::copy_file(good, damaged);
    test::flip_stored_byte(damaged, kernel, 5);
    EXPECT_ERROR(read_checkpoint(damaged, be), cat(part, ".h5"), kernel + " chunk 0 is damaged",
                 "hash to XXH3-64 ", "the file's checksum is ");
  }
  const std::string table = dir.file("table.h5");
  std::filesystem::copy_file(good, table);
  test::flip_stored_byte(table, "/models/quality", 3);
  EXPECT_ERROR(read_checkpoint_info(table), "table.h5", "/models/quality is damaged", "/digest says ");
  // The whole pool's reader checks the digest while its parameter reads are in flight: the same error.
  EXPECT_ERROR(read_checkpoint(table, be), "table.h5", "/models/quality is damaged", "/digest says ");
  const std::string text = dir.file("text.h5");
  std::filesystem::copy_file(good, text);
  const long marked = find_text(text, "marked-for-a-flip");
  ASSERT_GE(marked, 0);
  test::flip_byte(text, marked);
  EXPECT_ERROR(read_checkpoint_info(text), "text.h5", "/run_info is damaged", "/digest says ");
  EXPECT_ERROR(read_checkpoint(text, be), "text.h5", "/run_info is damaged", "/digest says ");
  // A damaged size in /pool/index fails the pool's reader before its digest check (the component
  // does not hold that many parameters): the digest is asked first and names the damage.
  const std::string index = dir.file("index.h5");
  std::filesystem::copy_file(good, index);
  test::flip_stored_byte(index, "/pool/index/size", 2);
  EXPECT_ERROR(read_checkpoint(index, be), "index.h5", "/pool/index/size is damaged", "/digest says ");
  read_checkpoint(good, be);  // the undamaged file reads
}

// Bytes this process has read so far (read and pread, from the disk or the page cache, O_DIRECT too).
int64_t bytes_read_so_far() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value)
    if (key == "rchar:") return value;
  ADD_FAILURE() << "/proc/self/io has no rchar";
  return 0;
}

// Automatic resume reads each checkpoint's pool once: read_checkpoint verifies every chunk as it
// lands, nothing reads the pool before it. It falls back past a newest checkpoint with a damaged
// chunk (any chunk of a multi-chunk dataset, found in the read that carries it), saying why, and
// stops on a checkpoint the caller refuses instead of falling back.
TEST(Checkpoint, AutomaticResumeReadsThePoolOnce) {
  test::TempDir dir;
  CpuBackend be(1);
  EvolutionConfig cfg;  // one ViT-B/16 block (7.1M parameters): the pool is far larger than the tables
  cfg.root = vit_preset("b16");
  cfg.root.layers = 1;
  cfg.max_image_size = cfg.root.image_size;
  TaskData task;
  task.name = "once";
  task.num_classes = 10;
  Evolution evo(be, be.pool(), cfg, {task}, nullptr);
  for (int g = 1; g <= 2; ++g) write_checkpoint(checkpoint_path(dir.path(), g), evo, {});
  const std::string older = checkpoint_path(dir.path(), 1), newer = checkpoint_path(dir.path(), 2);
  int64_t pool_bytes = 0;
  for (const PoolEntryInfo& e : read_checkpoint_info(newer).pool) pool_bytes += e.stored_bytes();
  ASSERT_GT(pool_bytes, 25 << 20);

  std::vector<std::string> skipped;
  std::optional<Checkpoint> ck;
  const int64_t before = bytes_read_so_far();
  ASSERT_EQ(read_newest(dir.path(), be, &ck, &skipped), newer);
  const int64_t read = bytes_read_so_far() - before;
  EXPECT_GE(read, pool_bytes);
  EXPECT_LT(read, pool_bytes + pool_bytes / 4) << "the pool (" << pool_bytes << " bytes) was read more than once";
  EXPECT_TRUE(skipped.empty());

  // A dataset of several chunks (3 MiB each): the last byte of chunk 1, and a byte inside chunk 2.
  std::string object;
  hsize_t chunk_bytes = 0;
  for (const auto& [id, e] : evo.pool().entries())
    for (const ParamSpec& p : e.component->layout())
      if (object.empty() && h5::chunk_count(p.shape) >= 3) {
        object = component_path(id) + "/values/" + p.name;
        chunk_bytes = hsize_t(h5::chunk_elements(p.shape)) * sizeof(float);
      }
  ASSERT_FALSE(object.empty());
  for (const auto& [chunk, at] : {std::pair<hsize_t, hsize_t>{1, chunk_bytes - 1}, {2, 1234567}}) {
    std::filesystem::copy_file(older, newer, std::filesystem::copy_options::overwrite_existing);
    test::flip_stored_byte(newer, object, at, chunk);
    skipped.clear();
    ck.reset();
    EXPECT_EQ(read_newest(dir.path(), be, &ck, &skipped), older);
    ASSERT_EQ(skipped.size(), 1u);
    test::expect_message_contains(Error(skipped[0]), {"ckpt-000002.h5: ", cat(object, " chunk ", chunk, " is damaged"),
                                                      "hash to XXH3-64 ", "the file's checksum is "});
    EXPECT_TRUE(ck.has_value());
  }

  const std::unique_ptr<Communicator> one = single_process_communicator();
  bool read_any = false;
  EXPECT_ERROR(read_newest_checkpoint(
                   dir.path(), *one, [](const std::string& path, const CheckpointInfo&) { fail(path, ": refused"); },
                   [&](const std::string&) { read_any = true; }, [](const std::string&) {}),
               "ckpt-000002.h5: refused");
  EXPECT_FALSE(read_any);
}

// Checkpoints record each task's source, content hash and task file; a resumed run must see the
// same data (the hash), and checkpoints written before task files (no such columns) still load.
TEST(Checkpoint, TaskSourcesAndHashesAreRecordedAndChecked) {
  MUNET_REQUIRE_DATA_ROOT(root);
  test::TempDir dir;
  CpuBackend be(1);
  Evolution evo(be, be.pool(), test::tiny_evolution_config(), test::two_character_tasks(root), nullptr);
  evo.step();
  const std::string path = dir.file("ck.h5");
  write_checkpoint(path, evo, {});
  const CheckpointInfo info = read_checkpoint_info(path);
  ASSERT_EQ(info.state.tasks.size(), 2u);
  EXPECT_EQ(info.state.tasks[0].content_hash, evo.tasks()[0].content_hash);
  EXPECT_EQ(info.state.tasks[0].content_hash.size(), 32u);
  EXPECT_NE(info.state.tasks[1].source.find("built-in recipe cmaterdb_bangla"), std::string::npos);
  EXPECT_EQ(info.state.tasks[1].file, "");

  std::vector<TaskData> changed = test::two_character_tasks(root);
  changed[1].train.pixels[0] ^= 1;
  changed[1].content_hash = task_content_hash(changed[1], splits_of(changed[1]));
  Checkpoint ck = read_checkpoint(path, be);
  EXPECT_ERROR(Evolution(be, be.pool(), std::move(ck.state), std::move(ck.pool), std::move(changed), nullptr),
               "task 1 is cmaterdb_bangla", evo.tasks()[1].content_hash);

  edit(path, [](hid_t f) {
    for (const char* column : {"/tasks/source", "/tasks/content_hash", "/tasks/task_file"})
      H5Ldelete(f, column, H5P_DEFAULT);
  });
  const CheckpointInfo old = read_checkpoint_info(path);
  EXPECT_EQ(old.state.tasks[0].content_hash, "");
  EXPECT_EQ(old.state.tasks[0].name, "cmaterdb_devanagari");
  auto resumed = resume(path, be, root);
  resumed->step();
  EXPECT_EQ(resumed->generations_done(), 2);
}

}  // namespace
}  // namespace munet
