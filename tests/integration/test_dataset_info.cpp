// dataset_info end to end on every data source, and its answers to bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/image.h"
#include "support/test_support.h"
#include "zoo/build_config.h"

using nlohmann::json;
using zoo::test::expect_clean_error;
using zoo::test::run_zoo;
using zoo::test::TempDir;

namespace {

json run_json(const std::string& arguments) { return zoo::test::run_zoo_json("dataset_info", arguments); }

// An uncompressed IDX file: magic 0 0 8 dims, big-endian sizes, bytes.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string bytes{0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<char>((d >> shift) & 0xff));
  return bytes + data;
}

void write_idx_dir(const std::string& dir, int n) {
  std::filesystem::create_directories(dir);
  std::string pixels, labels;
  for (int i = 0; i < n; ++i) {
    pixels += std::string(4 * 4, static_cast<char>(i * 10));
    labels.push_back(static_cast<char>(i % 2));
  }
  for (const char* split : {"train", "t10k"}) {
    zoo::test::write_bytes(dir + "/" + split + "-images-idx3-ubyte",
                           idx_bytes({static_cast<uint32_t>(n), 4, 4}, pixels));
    zoo::test::write_bytes(dir + "/" + split + "-labels-idx1-ubyte", idx_bytes({static_cast<uint32_t>(n)}, labels));
  }
}

}  // namespace

TEST(DatasetInfo, FashionMnistCountsClassesAndGrid) {
  TempDir dir;
  const json report = run_json("--data fashion-mnist --grid " + dir.file("grid.png"));
  EXPECT_EQ(report["splits"]["train"]["examples"], 60000);
  EXPECT_EQ(report["splits"]["test"]["examples"], 10000);
  EXPECT_EQ(report["shape"], json::array({1, 28, 28}));
  EXPECT_EQ(report["classes"][0], "T-shirt/top");
  for (int c = 0; c < 10; ++c) EXPECT_EQ(report["splits"]["train"]["class_counts"][c], 6000);
  EXPECT_NEAR(report["splits"]["train"]["mean"][0].get<double>(), 0.2860, 0.001);
  EXPECT_NEAR(report["splits"]["train"]["std"][0].get<double>(), 0.3530, 0.001);
  EXPECT_TRUE(std::filesystem::exists(report["grid"].get<std::string>()));
}

TEST(DatasetInfo, ToyDistributionScatterPlot) {
  TempDir dir;
  const json report = run_json("--data toy:8gaussians --grid " + dir.file("points.png"));
  EXPECT_EQ(report["splits"]["train"]["examples"], 20000);
  EXPECT_EQ(report["shape"], json::array({2}));
  EXPECT_TRUE(report["classes"].empty());
  EXPECT_NEAR(report["splits"]["train"]["mean"][0].get<double>(), 0.0, 0.1);
  EXPECT_TRUE(std::filesystem::exists(report["grid"].get<std::string>()));
}

TEST(DatasetInfo, IdxDirectoryAndLimit) {
  TempDir dir;
  write_idx_dir(dir.file("idx"), 6);
  const json report = run_json("--data idx:" + dir.file("idx") + " --limit 4");
  EXPECT_EQ(report["splits"]["train"]["examples"], 4);
  EXPECT_EQ(report["shape"], json::array({1, 4, 4}));
  // Pixels 0, 10, 20, 30 out of 255.
  EXPECT_NEAR(report["splits"]["train"]["mean"][0].get<double>(), 15.0 / 255, 1e-6);
}

TEST(DatasetInfo, Cifar10Batches) {
  TempDir dir;
  std::string record(3073, '\0');
  for (int b = 1; b <= 5; ++b) {
    std::string batch;
    for (int i = 0; i < 3; ++i) {
      record[0] = static_cast<char>((b + i) % 10);
      batch += record;
    }
    zoo::test::write_bytes(dir.file("data_batch_" + std::to_string(b) + ".bin"), batch);
  }
  zoo::test::write_bytes(dir.file("test_batch.bin"), record + record);
  const json report = run_json("--data cifar10:" + dir.path());
  EXPECT_EQ(report["splits"]["train"]["examples"], 15);
  EXPECT_EQ(report["splits"]["test"]["examples"], 2);
  EXPECT_EQ(report["shape"], json::array({3, 32, 32}));
  EXPECT_EQ(report["classes"][0], "airplane");
}

TEST(DatasetInfo, ImageFolder) {
  TempDir dir;
#if ZOO_HAVE_OPENCV
  for (const char* cls : {"cats", "dogs"}) {
    std::filesystem::create_directories(dir.file(std::string("pets/") + cls));
    for (int i = 0; i < 10; ++i)
      zoo::save_image(dir.file(std::string("pets/") + cls + "/" + std::to_string(i) + ".png"),
                      torch::rand({3, 20, 24}));
  }
  const json report = run_json("--data folder:" + dir.file("pets") + ",size=16 --grid " + dir.file("g.png"));
  EXPECT_EQ(report["classes"], json::array({"cats", "dogs"}));
  EXPECT_EQ(report["shape"], json::array({3, 16, 16}));
  EXPECT_EQ(report["splits"]["train"]["examples"], 18);
  EXPECT_EQ(report["splits"]["test"]["examples"], 2);
#else
  expect_clean_error("dataset_info", "--data folder:" + dir.path(), "OpenCV");
#endif
}

TEST(DatasetInfo, BadInputGetsOneErrorLine) {
  TempDir dir;
  expect_clean_error("dataset_info", "--data nonsense", "unknown dataset kind");
  expect_clean_error("dataset_info", "--data mnist:" + dir.file("absent"), "absent");
  expect_clean_error("dataset_info", "--no-such-flag", "no-such-flag");
  expect_clean_error("dataset_info", "--limit many", "limit");
  write_idx_dir(dir.file("idx"), 6);
  const std::string images = dir.file("idx/train-images-idx3-ubyte");
  const std::string bytes = zoo::test::read_bytes(images);
  zoo::test::write_bytes(images, bytes.substr(0, bytes.size() - 5));
  expect_clean_error("dataset_info", "--data idx:" + dir.file("idx"), "train-images-idx3-ubyte");
  zoo::test::write_bytes(dir.file("data_batch_1.bin"), std::string(100, 'x'));
  expect_clean_error("dataset_info", "--data cifar10:" + dir.path(), "data_batch_1.bin");
  expect_clean_error("dataset_info", "--format yaml", "--format");
}

TEST(DatasetInfo, HelpExitsZero) {
  const auto result = run_zoo("dataset_info", "--help");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.output.find("--data"), std::string::npos);
}
