#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "core/error.h"
#include "data/cifar.h"
#include "support/test_support.h"

using zoo::test::throws_error_with;

namespace {

using zoo::data::load_cifar10;
using zoo::data::load_cifar100;
using zoo::data::Split;
using zoo::test::TempDir;
using zoo::test::write_bytes;

// Image bytes that differ from image to image and from channel to channel.
uint8_t pixel(int64_t image, int64_t channel, int64_t y, int64_t x) {
  return static_cast<uint8_t>((image * 37 + channel * 101 + y * 7 + x * 3) % 256);
}

// One record: the label bytes, then the image channel by channel, row by row.
std::string record(const std::vector<uint8_t>& labels, int64_t image) {
  std::string bytes(labels.begin(), labels.end());
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < 32; ++x) bytes += static_cast<char>(pixel(image, c, y, x));
  return bytes;
}

// Checks that the example is image number `image` of pixel() scaled to [0, 1].
void expect_image(const zoo::data::Example& example, int64_t image) {
  ASSERT_EQ(example.input.sizes(), torch::IntArrayRef({3, 32, 32}));
  const auto values = example.input.accessor<float, 3>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < 32; ++x)
        ASSERT_FLOAT_EQ(values[c][y][x], pixel(image, c, y, x) / 255.0f)
            << "image " << image << " at " << c << "," << y << "," << x;
}

std::string lines(const std::string& prefix, int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += prefix + std::to_string(i) + "\n";
  return text;
}

// CIFAR-10 batches holding `counts[b]` records each; image i has label (3 i + 1) % 10.
void write_cifar10(const std::string& dir, const std::vector<std::string>& files, const std::vector<int>& counts) {
  std::filesystem::create_directories(dir);
  int64_t image = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    std::string bytes;
    for (int r = 0; r < counts[f]; ++r, ++image) bytes += record({static_cast<uint8_t>((3 * image + 1) % 10)}, image);
    write_bytes(dir + "/" + files[f], bytes);
  }
}

const std::vector<std::string> kTrainBatches = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                                "data_batch_4.bin", "data_batch_5.bin"};

// CIFAR-100 records: image i has coarse label i % 20 and fine label (7 i + 3) % 100.
void write_cifar100(const std::string& path, int count) {
  std::string bytes;
  for (int i = 0; i < count; ++i)
    bytes += record({static_cast<uint8_t>(i % 20), static_cast<uint8_t>((7 * i + 3) % 100)}, i);
  write_bytes(path, bytes);
}

}  // namespace

TEST(Cifar, ReadsTheFiveTrainBatchesInOrder) {
  TempDir dir;
  write_cifar10(dir.file("cifar-10-batches-bin"), kTrainBatches, {2, 1, 3, 1, 2});
  const auto data = load_cifar10(dir.path(), Split::train);
  EXPECT_EQ(data->info().name, "cifar-10");
  EXPECT_EQ(data->info().shape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(data->info().classes, (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                            "frog", "horse", "ship", "truck"}));
  ASSERT_EQ(data->size(), 9);
  for (int64_t i = 0; i < 9; ++i) {
    const zoo::data::Example example = data->get(i);
    EXPECT_EQ(example.label, (3 * i + 1) % 10);
    expect_image(example, i);
  }
}

TEST(Cifar, ReadsTheTestBatchWithClassNamesFromTheMetaFile) {
  TempDir dir;
  write_cifar10(dir.path(), {"test_batch.bin"}, {4});
  write_bytes(dir.file("batches.meta.txt"), lines("kind ", 10) + "\n\n");
  const auto data = load_cifar10(dir.path(), Split::test);
  ASSERT_EQ(data->size(), 4);
  EXPECT_EQ(data->info().classes.front(), "kind 0");
  EXPECT_EQ(data->info().classes.back(), "kind 9");
  EXPECT_EQ(data->get(3).label, 0);
  expect_image(data->get(3), 3);

  write_bytes(dir.file("batches.meta.txt"), lines("kind ", 9));
  EXPECT_TRUE(throws_error_with([&] { load_cifar10(dir.path(), Split::test); },
                                {dir.file("batches.meta.txt") + ": 9 class names, expected 10"}));
}

TEST(Cifar, TruncatedFilesAreErrors) {
  TempDir dir;
  write_cifar10(dir.path(), kTrainBatches, {1, 1, 2, 1, 1});
  const std::string third = dir.file("data_batch_3.bin");
  write_bytes(third, zoo::test::read_bytes(third).substr(0, 2 * 3073 - 5));
  EXPECT_TRUE(
      throws_error_with([&] { load_cifar10(dir.path(), Split::train); },
                        {third + ": truncated or corrupt: 6141 bytes is not a multiple of the 3073-byte record"}));
  write_bytes(third, "");
  EXPECT_TRUE(
      throws_error_with([&] { load_cifar10(dir.path(), Split::train); }, {third + ": truncated or corrupt: 0 bytes"}));
}

TEST(Cifar, LabelsAboveNineAreErrors) {
  TempDir dir;
  write_bytes(dir.file("test_batch.bin"), record({3}, 0) + record({10}, 1));
  EXPECT_TRUE(throws_error_with([&] { load_cifar10(dir.path(), Split::test); },
                                {dir.file("test_batch.bin") + ": record 1 has label 10, expected below 10"}));
}

TEST(Cifar, MissingFilesAreErrors) {
  TempDir dir;
  EXPECT_TRUE(throws_error_with([&] { load_cifar10(dir.path(), Split::test); },
                                {dir.path() + ": missing test_batch.bin", "cifar-10-batches-bin"}));
  write_cifar10(dir.path(), {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin"}, {1, 1, 1});
  EXPECT_TRUE(throws_error_with([&] { load_cifar10(dir.path(), Split::train); }, {dir.file("data_batch_4.bin")}));
}

TEST(Cifar100, ReadsFineOrCoarseLabels) {
  TempDir dir;
  write_cifar100(dir.file("test.bin"), 25);
  const auto fine = load_cifar100(dir.path(), Split::test, true);
  const auto coarse = load_cifar100(dir.path(), Split::test, false);
  EXPECT_EQ(fine->info().name, "cifar-100");
  EXPECT_EQ(coarse->info().name, "cifar-100-coarse");
  EXPECT_EQ(fine->info().classes.size(), 100u);
  EXPECT_EQ(fine->info().classes[42], "42");
  EXPECT_EQ(coarse->info().classes.size(), 20u);
  ASSERT_EQ(fine->size(), 25);
  for (int64_t i = 0; i < 25; ++i) {
    EXPECT_EQ(fine->get(i).label, (7 * i + 3) % 100);
    EXPECT_EQ(coarse->get(i).label, i % 20);
  }
  expect_image(fine->get(24), 24);
}

TEST(Cifar100, ReadsClassNamesFromTheArchiveFolder) {
  TempDir dir;
  const std::string root = dir.file("cifar-100-binary");
  std::filesystem::create_directories(root);
  write_cifar100(root + "/train.bin", 3);
  write_bytes(root + "/fine_label_names.txt", lines("fine", 100));
  write_bytes(root + "/coarse_label_names.txt", lines("coarse", 20));
  EXPECT_EQ(load_cifar100(dir.path(), Split::train, true)->info().classes[99], "fine99");
  EXPECT_EQ(load_cifar100(dir.path(), Split::train, false)->info().classes[19], "coarse19");
  EXPECT_TRUE(throws_error_with([&] { load_cifar100(dir.path(), Split::test); }, {"missing test.bin"}));
}

TEST(Cifar100, LabelsOutOfRangeAreErrors) {
  TempDir dir;
  write_bytes(dir.file("train.bin"), record({19, 99}, 0) + record({20, 5}, 1));
  EXPECT_TRUE(throws_error_with([&] { load_cifar100(dir.path(), Split::train); },
                                {dir.file("train.bin") + ": record 1 has coarse label 20, expected below 20"}));
  write_bytes(dir.file("train.bin"), record({19, 100}, 0));
  EXPECT_TRUE(throws_error_with([&] { load_cifar100(dir.path(), Split::train, false); },
                                {dir.file("train.bin") + ": record 0 has fine label 100, expected below 100"}));
}
