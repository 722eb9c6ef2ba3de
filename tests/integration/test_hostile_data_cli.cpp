// Hostile input through the real executables: every case ends in exactly one line
// "error: ..." and exit status 2 (or, for odd but valid data, a correct answer), never a
// raw library message, an out-of-bounds read or an allocation that the input asked for.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/image.h"
#include "support/test_support.h"
#include "weights/safetensors.h"
#include "zoo/build_config.h"

using nlohmann::json;
using zoo::test::expect_clean_error;
using zoo::test::TempDir;

namespace {

namespace fs = std::filesystem;

// An uncompressed IDX file: magic 0 0 type dims, big-endian sizes, then the data as given.
std::string idx_bytes(char type, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string bytes{0, 0, type, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<char>((d >> shift) & 0xff));
  return bytes + data;
}

// One split of an IDX data set: 2x2 images, one per label.
void write_idx_split(const std::string& dir, const std::string& prefix, const std::vector<uint8_t>& labels) {
  fs::create_directories(dir);
  const auto n = static_cast<uint32_t>(labels.size());
  zoo::test::write_bytes(dir + "/" + prefix + "-images-idx3-ubyte",
                         idx_bytes(8, {n, 2, 2}, std::string(4 * n, '\x40')));
  zoo::test::write_bytes(dir + "/" + prefix + "-labels-idx1-ubyte",
                         idx_bytes(8, {n}, std::string(labels.begin(), labels.end())));
}

std::vector<uint8_t> labels_up_to(int highest) {
  std::vector<uint8_t> labels;
  for (int label = 0; label <= highest; ++label) labels.push_back(static_cast<uint8_t>(label));
  return labels;
}

}  // namespace

TEST(HostileDataCli, IdxTrainingLabelsBeyondTheTestLabelsAreDescribedInFull) {
  TempDir dir;
  // Training labels 0-200, test labels 0-9: dataset_info read past the test split's 10
  // class counts (a 160-byte block, under valgrind) and printed a garbled JSON type error.
  write_idx_split(dir.file("idx"), "train", labels_up_to(200));
  write_idx_split(dir.file("idx"), "t10k", labels_up_to(9));
  const json report = zoo::test::run_zoo_json("dataset_info", "--data idx:" + dir.file("idx"));
  EXPECT_EQ(report["classes"].size(), 201u);
  ASSERT_EQ(report["splits"]["test"]["class_counts"].size(), 201u);
  EXPECT_EQ(report["splits"]["test"]["class_counts"][9], 1);
  EXPECT_EQ(report["splits"]["test"]["class_counts"][200], 0);
  const zoo::test::CommandResult table = zoo::test::run_zoo("dataset_info", "--data idx:" + dir.file("idx"));
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("200 200            train      1  test      0"), std::string::npos) << table.output;
}

TEST(HostileDataCli, IdxLabelsTheTrainingClassesCannotHoldAreCleanErrors) {
  TempDir dir;
  write_idx_split(dir.file("idx"), "train", labels_up_to(9));
  write_idx_split(dir.file("idx"), "t10k", {3, 200});
  expect_clean_error("dataset_info", "--data idx:" + dir.file("idx"),
                     dir.file("idx/t10k-labels-idx1-ubyte") + ": label 200 (example 1) is out of range for 10 classes");
  // One label of 2^31 - 1 (int32 labels) grew dataset_info to 16.7 GB before std::bad_alloc.
  write_idx_split(dir.file("idx"), "train", {0, 1});
  zoo::test::write_bytes(dir.file("idx/train-labels-idx1-ubyte"),
                         idx_bytes(0x0c, {2}, std::string("\0\0\0\x01\x7f\xff\xff\xff", 8)));
  expect_clean_error("dataset_info", "--data idx:" + dir.file("idx"), "kMaxClasses");
}

TEST(HostileDataCli, SizesInDataSpecsAreLimited) {
  TempDir dir;
  expect_clean_error("dataset_info", "--data toy:moons,train=99999999999",
                     "toy:moons: train is 99999999999, over the limit of 10000000 points");
#if ZOO_HAVE_OPENCV
  fs::create_directories(dir.file("pets/cat"));
  zoo::save_image(dir.file("pets/cat/1.png"), torch::rand({3, 4, 4}));
  expect_clean_error("dataset_info", "--data folder:" + dir.file("pets") + ",size=100000",
                     "folder: size is 100000, over the limit of 4096 pixels a side");
#endif
}

#if ZOO_HAVE_OPENCV

TEST(HostileDataCli, ASymbolicLinkLoopNamesTheLink) {
  TempDir dir;
  fs::create_directories(dir.file("pets/cat"));
  zoo::save_image(dir.file("pets/cat/1.png"), torch::rand({3, 4, 4}));
  fs::create_directory_symlink(dir.file("pets"), dir.file("pets/cat/loop"));
  // Before: "error: filesystem error: ... Too many levels of symbolic links", exit 1.
  expect_clean_error("dataset_info", "--data folder:" + dir.file("pets"),
                     dir.file("pets/cat/loop") + ": a symbolic link loop");
}

TEST(HostileDataCli, ATruncatedPngIsOneLineNamingTheFile) {
  TempDir dir;
  for (const char* split : {"train", "test"}) {
    fs::create_directories(dir.file(std::string("pets/") + split + "/cat"));
    for (int i = 0; i < 2; ++i)
      zoo::save_image(dir.file(std::string("pets/") + split + "/cat/" + std::to_string(i) + ".png"),
                      torch::rand({3, 8, 8}));
  }
  const std::string cut = dir.file("pets/train/cat/1.png");
  const std::string bytes = zoo::test::read_bytes(cut);
  zoo::test::write_bytes(cut, bytes.substr(0, bytes.size() - 30));
  // Before, libpng printed "libpng error: ..." on stderr ahead of the error line.
  expect_clean_error("dataset_info", "--data folder:" + dir.file("pets") + ",size=8", cut + ": corrupt PNG: truncated");
}

#endif

TEST(HostileDataCli, ACheckpointAskingForAHugeEfficientNetIsRefusedBeforeBuilding) {
  TempDir dir;
  // The weights file is only metadata (about 180 bytes): a model config with phi 25, which
  // allocated 6 GB before failing.
  const json model = {{"model", "efficientnet_phi"}, {"config", {{"phi", 25}}}};
  zoo::weights::write_safetensors(dir.file("phi25.safetensors"), {}, {{"zoo.model", model.dump()}});
  EXPECT_LT(fs::file_size(dir.file("phi25.safetensors")), 256u);
  expect_clean_error("classify", "--checkpoint " + dir.file("phi25.safetensors") + " --image " + dir.file("x.png"),
                     "invalid EfficientNet config: resolution is 7376, over the limit of 4096 pixels a side");
}

TEST(HostileDataCli, ATabularHashColumnOfAHundredBillionBucketsIsRefused) {
  TempDir dir;
  std::string csv = "city,y\n";
  for (int i = 0; i < 20; ++i) csv += std::string(i % 2 ? "a" : "b") + "," + std::to_string(i) + "\n";
  zoo::test::write_bytes(dir.file("t.csv"), csv);
  zoo::test::write_bytes(dir.file("columns.json"), R"({"columns": [
    {"type": "indicator", "categorical": {"type": "hash", "key": "city", "buckets": 100000000000}}]})");
  // Before: std::bad_alloc, exit 1.
  expect_clean_error("train_tabular",
                     "--data csv:" + dir.file("t.csv") + " --columns " + dir.file("columns.json") +
                         " --target y --out " + dir.file("run"),
                     "buckets is 100000000000, over the limit of 1048576 buckets (kMaxBuckets in core/limits.h)");
}
