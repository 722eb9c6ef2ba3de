#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "data/idx.h"
#include "support/test_support.h"

using zoo::test::throws_error_with;

namespace {

using zoo::data::load_idx_dataset;
using zoo::data::read_idx;
using zoo::data::Split;
using zoo::data::TensorDataset;
using zoo::test::TempDir;
using zoo::test::write_bytes;

std::string fashion_file(const std::string& name) { return std::string(zoo::data::kFashionMnistDir) + "/" + name; }

std::string idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string header{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) header += static_cast<char>((d >> shift) & 0xff);
  return header;
}

// The tensor's elements, most significant byte first (the test machine is little-endian).
std::string big_endian_data(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.contiguous();
  const size_t width = t.element_size();
  const auto* data = static_cast<const char*>(t.data_ptr());
  std::string bytes;
  for (int64_t i = 0; i < t.numel(); ++i)
    for (size_t b = width; b-- > 0;) bytes += data[i * width + b];
  return bytes;
}

std::string idx_file_bytes(uint8_t type, const torch::Tensor& tensor) {
  std::vector<uint32_t> dims;
  for (int64_t d : tensor.sizes()) dims.push_back(static_cast<uint32_t>(d));
  return idx_header(type, dims) + big_endian_data(tensor);
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

std::string read_gzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  EXPECT_NE(file, nullptr) << path;
  std::string bytes;
  char buffer[1 << 16];
  for (int n; (n = gzread(file, buffer, sizeof buffer)) > 0;) bytes.append(buffer, n);
  gzclose(file);
  return bytes;
}

// A tiny IDX data set in dir: images [N, 2, 3] with pixel values 10 * i + j, and labels.
void write_tiny_dataset(const TempDir& dir, const std::string& prefix, const std::vector<uint8_t>& labels,
                        int64_t images = -1) {
  const int64_t n = images < 0 ? static_cast<int64_t>(labels.size()) : images;
  const torch::Tensor pixels = torch::arange(n * 6, torch::kLong).view({n, 2, 3}).to(torch::kByte);
  write_bytes(dir.file(prefix + "-images-idx3-ubyte"), idx_file_bytes(0x08, pixels));
  write_bytes(dir.file(prefix + "-labels-idx1-ubyte"),
              idx_header(0x08, {static_cast<uint32_t>(labels.size())}) + std::string(labels.begin(), labels.end()));
}

struct PixelStats {
  double mean, std;
};

// Checks one split of the real Fashion-MNIST: size, shape, balanced labels and pixel statistics.
void check_fashion_mnist(Split split, int64_t size, PixelStats expected) {
  const auto data =
      load_idx_dataset(zoo::data::kFashionMnistDir, split, "fashion-mnist", zoo::data::fashion_mnist_classes());
  ASSERT_EQ(data->size(), size);
  EXPECT_EQ(data->info().shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(data->info().classes, zoo::data::fashion_mnist_classes());
  const auto tensors = std::dynamic_pointer_cast<const TensorDataset>(data);
  ASSERT_TRUE(tensors);
  EXPECT_TRUE(torch::equal(torch::bincount(tensors->labels()), torch::full({10}, size / 10, torch::kLong)));
  const torch::Tensor pixels = tensors->inputs().to(torch::kDouble).div(255.0);
  EXPECT_NEAR(pixels.mean().item<double>(), expected.mean, 0.005);
  EXPECT_NEAR(pixels.std().item<double>(), expected.std, 0.005);

  const zoo::data::Example example = data->get(size - 1);
  EXPECT_EQ(example.input.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(example.input, tensors->inputs()[size - 1].to(torch::kFloat) / 255.0));
  EXPECT_EQ(example.label, tensors->labels()[size - 1].item<int64_t>());
}

}  // namespace

// IdxOnFashionMnist.* read Debian's dataset-fashion-mnist files; scripts/gpu_check.sh leaves
// the suite out on a machine without them.
TEST(IdxOnFashionMnist, ReadsTheTrainSplit) { check_fashion_mnist(Split::train, 60000, {0.2860, 0.3530}); }

TEST(IdxOnFashionMnist, ReadsTheTestSplit) { check_fashion_mnist(Split::test, 10000, {0.2868, 0.3524}); }

TEST(Idx, ReadsBigEndianData) {
  TempDir dir;
  // Type 0x0b (int16), one dimension of 3: 0x0102 = 258, 0xfffe = -2, 0x8000 = -32768.
  write_bytes(dir.file("shorts"), std::string("\0\0\x0b\x01\0\0\0\x03\x01\x02\xff\xfe\x80\x00", 14));
  const torch::Tensor values = read_idx(dir.file("shorts"));
  EXPECT_EQ(values.scalar_type(), torch::kShort);
  EXPECT_TRUE(torch::equal(values, torch::tensor({258, -2, -32768}, torch::kShort)));
}

TEST(Idx, RoundTripsEveryTypeRawAndGzipped) {
  TempDir dir;
  const std::vector<std::pair<uint8_t, torch::Tensor>> cases = {
      {0x08, torch::arange(24, torch::kLong).mul(11).view({2, 3, 4}).to(torch::kByte)},
      {0x09, torch::tensor({-128, -1, 0, 1, 127}, torch::kChar)},
      {0x0B, torch::tensor({-32768, -2, 0, 258, 32767}, torch::kShort).view({5, 1})},
      {0x0C,
       torch::tensor({std::numeric_limits<int32_t>::min(), -2, 65539, std::numeric_limits<int32_t>::max()}, torch::kInt)
           .view({1, 2, 1, 2})},
      {0x0D, torch::tensor({-1.5f, 3.25e-3f, 1e30f, -0.0f, 7.0f, 0.1f}, torch::kFloat).view({3, 2})},
      {0x0E, torch::tensor({3.141592653589793, -1e-300, 1e300}, torch::kDouble)},
  };
  for (const auto& [type, expected] : cases) {
    SCOPED_TRACE("type " + std::to_string(type));
    const std::string bytes = idx_file_bytes(type, expected);
    write_bytes(dir.file("raw"), bytes);
    write_gzip(dir.file("packed.gz"), bytes);
    for (const char* name : {"raw", "packed.gz"}) {
      const torch::Tensor actual = read_idx(dir.file(name));
      EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
      EXPECT_EQ(actual.sizes(), expected.sizes());
      EXPECT_TRUE(torch::equal(actual, expected)) << name;
    }
  }
}

TEST(IdxOnFashionMnist, TruncatedDataIsAnError) {
  TempDir dir;
  const std::string whole = read_gzip(fashion_file("t10k-images-idx3-ubyte.gz"));
  ASSERT_EQ(whole.size(), 16u + 10000u * 28u * 28u);
  const std::string path = dir.file("t10k-images-idx3-ubyte");
  write_bytes(path, whole.substr(0, 16 + 1200));
  EXPECT_TRUE(throws_error_with(
      [&] { read_idx(path); },
      {path + ": truncated: header says 10000x28x28 = 7840000 bytes of data but the file holds 1200"}));
}

TEST(Idx, TrailingDataIsAnError) {
  TempDir dir;
  const std::string path = dir.file("long");
  write_bytes(path, idx_file_bytes(0x08, torch::zeros({2, 2}, torch::kByte)) + "xyz");
  EXPECT_TRUE(throws_error_with([&] { read_idx(path); }, {path, "3 bytes of trailing data", "2x2 = 4 bytes"}));
}

TEST(Idx, MalformedHeadersAreErrors) {
  TempDir dir;
  const std::string path = dir.file("bad");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("\0\0", 2), "too short for the 4-byte magic number"},
      {std::string("\x12\x34\x08\x01\0\0\0\x01\x07", 9), "bad magic number 12 34 08 01"},
      {std::string("\0\0\x0a\x01\0\0\0\x01\x07", 9), "unknown IDX data type code 0x0a"},
      {std::string("\0\0\x08\x00\x07", 5), "gives 0 dimensions; expected 1 to 4"},
      {std::string("\0\0\x08\x05", 4) + std::string(20, '\x01') + "data", "gives 5 dimensions; expected 1 to 4"},
      {std::string("\0\0\x08\x03\0\0\0\x02\0\0", 10), "truncated IDX header: 3 dimensions need 16 bytes"},
      {std::string("\0\0\x08\x02\0\0\0\x02\0\0\0\0", 12), "dimension 1 of the IDX header is 0"},
      // Declaring over 2^64 bytes: refused by kMaxIdxBytes before the size is compared.
      {std::string("\0\0\x0e\x04", 4) + std::string(16, '\xff') + "x", "is 1.845e+19, over the limit of"},
  };
  for (const auto& [bytes, problem] : cases) {
    write_bytes(path, bytes);
    EXPECT_TRUE(throws_error_with([&] { read_idx(path); }, {path + ": ", problem}));
  }
}

TEST(IdxOnFashionMnist, BrokenGzipStreamsAreErrors) {
  TempDir dir;
  const std::string real = zoo::test::read_bytes(fashion_file("t10k-labels-idx1-ubyte.gz"));
  const std::string cut = dir.file("cut.gz");
  write_bytes(cut, real.substr(0, real.size() / 2));
  EXPECT_TRUE(throws_error_with([&] { read_idx(cut); }, {cut + ": truncated gzip stream"}));

  std::string damaged = real;
  for (size_t i = 100; i < 200; ++i) damaged[i] = static_cast<char>(~damaged[i]);
  const std::string corrupt = dir.file("corrupt.gz");
  write_bytes(corrupt, damaged);
  EXPECT_TRUE(throws_error_with([&] { read_idx(corrupt); }, {corrupt + ": corrupt gzip stream"}));
}

TEST(Idx, MissingFileIsAnError) {
  TempDir dir;
  EXPECT_TRUE(throws_error_with([&] { read_idx(dir.file("absent")); }, {dir.file("absent")}));
}

TEST(Idx, LoadsAGzippedDatasetWithDottedNamesAndNumberedClasses) {
  TempDir dir;
  const torch::Tensor pixels = torch::arange(3 * 2 * 3, torch::kLong).mul(13).view({3, 2, 3}).to(torch::kByte);
  write_gzip(dir.file("t10k-images.idx3-ubyte.gz"), idx_file_bytes(0x08, pixels));
  write_bytes(dir.file("t10k-labels.idx1-ubyte"), idx_header(0x08, {3}) + std::string("\x04\x00\x02", 3));
  // The classes are numbered from the training labels (largest 4), also for the test split.
  write_bytes(dir.file("train-labels.idx1-ubyte"), idx_header(0x08, {2}) + std::string("\x01\x04", 2));

  const auto data = load_idx_dataset(dir.path(), Split::test, "idx:tiny", {});
  EXPECT_EQ(data->info().name, "idx:tiny");
  EXPECT_EQ(data->info().classes, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(data->info().shape, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(data->size(), 3);
  const std::vector<int64_t> labels = {4, 0, 2};
  for (int64_t i = 0; i < 3; ++i) {
    const zoo::data::Example example = data->get(i);
    EXPECT_EQ(example.label, labels[i]);
    EXPECT_TRUE(torch::equal(example.input.mul(255).round().to(torch::kByte), pixels[i].unsqueeze(0)));
  }
}

TEST(Idx, LabelAndImageCountsMustAgree) {
  TempDir dir;
  write_tiny_dataset(dir, "train", {1, 2}, 3);
  EXPECT_TRUE(throws_error_with(
      [&] { load_idx_dataset(dir.path(), Split::train, "mnist", zoo::data::mnist_classes()); },
      {dir.file("train-labels-idx1-ubyte") + ": 2 labels for the 3 images of " + dir.file("train-images-idx3-ubyte")}));
}

TEST(Idx, LabelsMustNameAClass) {
  TempDir dir;
  write_tiny_dataset(dir, "train", {1, 9, 12});
  EXPECT_TRUE(throws_error_with(
      [&] { load_idx_dataset(dir.path(), Split::train, "mnist", zoo::data::mnist_classes()); },
      {dir.file("train-labels-idx1-ubyte") + ": label 12 (example 2) is out of range for 10 classes"}));
}

TEST(Idx, ImagesMustBeThreeDimensionalBytes) {
  TempDir dir;
  write_tiny_dataset(dir, "train", {1});
  write_bytes(dir.file("train-images-idx3-ubyte"), idx_file_bytes(0x08, torch::zeros({1, 4}, torch::kByte)));
  EXPECT_TRUE(throws_error_with([&] { load_idx_dataset(dir.path(), Split::train, "idx", {}); },
                                {dir.file("train-images-idx3-ubyte"), "expected uint8 images [N, H, W]"}));
}

TEST(Idx, MissingDirectoryOrFilesAreErrors) {
  TempDir dir;
  const std::string absent = dir.file("absent");
  EXPECT_TRUE(throws_error_with([&] { load_idx_dataset(absent, Split::train, "mnist", {}); },
                                {absent + ": no such directory", "train-images-idx3-ubyte[.gz]"}));
  write_tiny_dataset(dir, "train", {1});
  std::filesystem::remove(dir.file("train-labels-idx1-ubyte"));
  EXPECT_TRUE(throws_error_with(
      [&] { load_idx_dataset(dir.path(), Split::train, "mnist", {}); },
      {dir.path() + ": missing train-labels-idx1-ubyte[.gz] (also looked for train-labels.idx1-ubyte[.gz])"}));
  EXPECT_TRUE(throws_error_with([&] { load_idx_dataset(dir.path(), Split::test, "mnist", {}); },
                                {"missing t10k-images-idx3-ubyte[.gz]"}));
}

// ---- hostile input ---------------------------------------------------------------------

namespace {

// Labels of type int32 (0x0c), for values beyond a byte.
std::string int32_labels(const std::vector<int32_t>& labels) {
  return idx_file_bytes(0x0C, torch::tensor(labels, torch::kInt));
}

}  // namespace

TEST(HostileIdx, BothSplitsNumberTheirClassesFromTheTrainingLabels) {
  TempDir dir;
  // Training labels up to 200, test labels up to 9: before, each split counted its own
  // classes (201 and 10), and dataset_info read past the test split's 10 class counts.
  std::vector<uint8_t> train_labels;
  for (int label = 0; label <= 200; label += 20) train_labels.push_back(static_cast<uint8_t>(label));
  write_tiny_dataset(dir, "train", train_labels);
  write_tiny_dataset(dir, "t10k", {0, 9, 3});
  const auto train = load_idx_dataset(dir.path(), Split::train, "idx", {});
  const auto test = load_idx_dataset(dir.path(), Split::test, "idx", {});
  EXPECT_EQ(train->info().num_classes(), 201);
  EXPECT_EQ(test->info().classes, train->info().classes);
}

TEST(HostileIdx, ATestLabelTheTrainingLabelsCannotPredictIsAnErrorAtLoad) {
  TempDir dir;
  write_tiny_dataset(dir, "train", {0, 9, 4});
  write_tiny_dataset(dir, "t10k", {3, 200, 1});
  EXPECT_TRUE(
      throws_error_with([&] { load_idx_dataset(dir.path(), Split::test, "idx", {}); },
                        {dir.file("t10k-labels-idx1-ubyte") + ": label 200 (example 1) is out of range for 10 classes",
                         dir.file("train-labels-idx1-ubyte")}));
  // Named classes bound both splits the same way.
  EXPECT_TRUE(throws_error_with([&] { load_idx_dataset(dir.path(), Split::test, "mnist", zoo::data::mnist_classes()); },
                                {"label 200 (example 1) is out of range for 10 classes"}));
}

TEST(HostileIdx, AHugeLabelIsRefusedBeforeItsClassNamesAreMade) {
  TempDir dir;
  // One label of 2^31 - 1 asked for 2^31 class names: 16.7 GB and std::bad_alloc.
  write_bytes(dir.file("train-images-idx3-ubyte"), idx_file_bytes(0x08, torch::zeros({2, 2, 2}, torch::kByte)));
  write_bytes(dir.file("train-labels-idx1-ubyte"), int32_labels({1, std::numeric_limits<int32_t>::max()}));
  EXPECT_TRUE(throws_error_with([&] { load_idx_dataset(dir.path(), Split::train, "idx", {}); },
                                {dir.file("train-labels-idx1-ubyte"), "largest label 2147483647", "2147483648",
                                 "over the limit of 100000 classes (kMaxClasses in core/limits.h)"}));
  write_bytes(dir.file("train-labels-idx1-ubyte"), int32_labels({1, -3}));
  EXPECT_TRUE(throws_error_with(
      [&] { load_idx_dataset(dir.path(), Split::train, "idx", {}); },
      {dir.file("train-labels-idx1-ubyte") + ": label -3 (example 1) is out of range for 2 classes"}));
}

TEST(HostileIdx, TheSizeAHeaderDeclaresIsLimitedBeforeInflating) {
  TempDir dir;
  // A gzip member inflates up to 1032-fold: a header declaring 2 x 65536 x 65536 bytes
  // (8 GiB) over a megabyte of zeros is refused from its header, before inflating.
  const std::string bomb = dir.file("bomb.gz");
  write_gzip(bomb, idx_header(0x08, {2, 65536, 65536}) + std::string(1 << 20, '\0'));
  EXPECT_TRUE(throws_error_with(
      [&] { read_idx(bomb); },
      {bomb + ": the data its header declares (2x65536x65536) is 8589934592", "(kMaxIdxBytes in core/limits.h)"}));
  // Within the limit, inflating stops one byte past what the header declares.
  const std::string padded = dir.file("padded.gz");
  write_gzip(padded, idx_file_bytes(0x08, torch::zeros({2, 2}, torch::kByte)) + std::string(1 << 20, '\0'));
  EXPECT_TRUE(throws_error_with(
      [&] { read_idx(padded); },
      {padded + ": trailing data: header says 2x2 = 4 bytes of data but the gzip stream holds more"}));
}
