// HDF5 model files: exact round trip (an imported root's original position embedding included),
// nothing left under a temporary name, a clear error for every bad input, and evolution starting
// from a pretrained root.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "evo/evolution.h"
#include "io/model_file.h"
#include "kernels/cpu/cpu_backend.h"
#include "nn/vit_model.h"
#include "support/expect_error.h"
#include "support/small_vit.h"
#include "support/test_files.h"

namespace munet {
namespace {

struct ModelFileTest : ::testing::Test {
  CpuBackend be{2};
  test::TempDir dir;
  test::SmallVit vit = test::make_small_vit(be, DType::F32, /*with_adapter=*/true, 3, /*perturb=*/true);
  std::string path = dir.file("model.h5");

  void write() {
    std::vector<const Component*> route;
    for (const auto& c : vit.components) route.push_back(c.get());
    write_model_file(path, vit.cfg, "cmaterdb_bangla", route, be);
  }
  // Opens the written file for a raw HDF5 edit.
  template <class F>
  void edit(F f) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    f(file);
    H5Fclose(file);
  }
};

TEST_F(ModelFileTest, OriginalPositionEmbeddingIsKeptOffTheRoute) {
  ViTConfig big = vit.cfg;
  big.image_size = 4 * vit.cfg.image_size;
  const auto original = fresh_component("posembed_" + std::to_string(big.image_size), ComponentKind::PosEmbed, big, be, 9);
  std::vector<const Component*> route;
  for (const auto& c : vit.components) route.push_back(c.get());
  write_model_file(path, vit.cfg, "cmaterdb_bangla", route, be, original.get());
  const ModelFile m = read_model_file(path, be);
  ASSERT_EQ(m.components.size(), vit.components.size());  // not on the route
  ASSERT_TRUE(m.original_posembed != nullptr);
  EXPECT_EQ(m.original_posembed->name(), original->name());
  EXPECT_TRUE(layout_matches(*m.original_posembed, original->layout()));
  EXPECT_EQ(0, std::memcmp(original->values().raw(), m.original_posembed->values().raw(), original->values().bytes()));
  // A file without one reads back without one; one named like a route component is refused.
  write();
  EXPECT_TRUE(read_model_file(path, be).original_posembed == nullptr);
  EXPECT_ERROR(write_model_file(path, vit.cfg, "t", route, be, route[2]), "has the name of a route component");
}

TEST_F(ModelFileTest, RoundTripIsExact) {
  write();
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temporary left
  const ModelFile m = read_model_file(path, be);
  EXPECT_EQ(m.task, "cmaterdb_bangla");
  EXPECT_EQ(m.config.hidden, vit.cfg.hidden);
  EXPECT_EQ(m.config.num_classes, vit.cfg.num_classes);
  EXPECT_EQ(m.config.image_size, vit.cfg.image_size);
  ASSERT_EQ(m.components.size(), vit.components.size());
  for (size_t i = 0; i < m.components.size(); ++i) {
    const Component& a = *vit.components[i];
    const Component& b = *m.components[i];
    EXPECT_EQ(a.name(), b.name());
    EXPECT_EQ(a.kind(), b.kind());
    EXPECT_TRUE(layout_matches(b, a.layout())) << a.name();
    EXPECT_EQ(0, std::memcmp(a.values().raw(), b.values().raw(), a.values().bytes())) << a.name();
  }
}

TEST_F(ModelFileTest, BadFilesGiveClearErrors) {
  EXPECT_ERROR(read_model_file(dir.file("missing.h5"), be), "missing.h5", "cannot read");
  std::ofstream(dir.file("text.h5")) << "not hdf5\n";
  EXPECT_ERROR(read_model_file(dir.file("text.h5"), be), "text.h5", "not an HDF5 file");
  write();
  const auto size = std::filesystem::file_size(path);
  std::filesystem::copy_file(path, dir.file("cut.h5"));
  std::filesystem::resize_file(dir.file("cut.h5"), size / 2);
  EXPECT_THROW(read_model_file(dir.file("cut.h5"), be), Error);

  edit([](hid_t f) {
    const int64_t v = 7;
    const hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
  });
  EXPECT_ERROR(read_model_file(path, be), "format version 7", cat("reads versions 1 to ", kModelFileVersion));

  write();
  edit([](hid_t f) { H5Ldelete(f, "/components/head/kernel", H5P_DEFAULT); });
  EXPECT_ERROR(read_model_file(path, be), "model.h5", "/components/head/kernel is missing");

  write();
  edit([](hid_t f) {
    H5Ldelete(f, "/components/cls/cls", H5P_DEFAULT);
    const hsize_t dims[1] = {3};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t g = H5Gopen2(f, "/components/cls", H5P_DEFAULT);
    const hid_t ds = H5Dcreate2(g, "cls", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Gclose(g);
    H5Sclose(space);
  });
  EXPECT_ERROR(read_model_file(path, be), "/components/cls/cls has shape [3], expected [8]");

  const hid_t plain = H5Fcreate(dir.file("plain.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(plain);
  EXPECT_ERROR(read_model_file(dir.file("plain.h5"), be), "plain.h5", "no attribute 'format'");
}

TEST_F(ModelFileTest, EvolutionStartsFromAPretrainedRoot) {
  ViTConfig cfg = vit.cfg;
  cfg.layers = 2;
  VitModel root = fresh_vit(be, cfg, 9);
  std::vector<const Component*> route;
  for (const auto& c : root.components) route.push_back(c.get());
  write_model_file(path, cfg, "mnist", route, be);
  ModelFile m = read_model_file(path, be);
  EvolutionConfig ec;
  ec.root = m.config;
  ec.max_image_size = 16;
  TaskData task;
  task.name = "toy";
  task.num_classes = 3;
  Evolution evo(be, be.pool(), ec, {task}, nullptr, std::move(m.components));  // the head is dropped
  const ModelRecord& r = evo.models().at(evo.root());
  ASSERT_EQ(r.route.size(), root.components.size() - 1);  // without the head
  for (size_t i = 0; i < r.route.size(); ++i) {
    const Tensor& got = evo.pool().at(r.route[i]).component->values();
    EXPECT_EQ(0, std::memcmp(got.raw(), root.components[i]->values().raw(), got.bytes())) << r.route_names[i];
  }
  // The root's embedding is also kept off the route, owned by the root: the source of resizes.
  int off_route = 0;
  for (const auto& [id, e] : evo.pool().entries())
    if (std::find(r.route.begin(), r.route.end(), id) == r.route.end()) {
      ++off_route;
      EXPECT_EQ(e.owner, kRootTask);
      EXPECT_EQ(e.component->kind(), ComponentKind::PosEmbed);
      EXPECT_EQ(0, std::memcmp(e.component->values().raw(), root.components[2]->values().raw(),
                               e.component->values().bytes()));
    }
  EXPECT_EQ(off_route, 1);
  // A root of another shape is refused with a clear message.
  ModelFile again = read_model_file(path, be);
  EvolutionConfig other = ec;
  other.root.layers = 1;
  EXPECT_ERROR(Evolution(be, be.pool(), other, {task}, nullptr, std::move(again.components)), "pretrained root has");
}

}  // namespace
}  // namespace munet
