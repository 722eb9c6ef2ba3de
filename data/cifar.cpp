#include "data/cifar.h"

#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/idx.h"

namespace zoo::data {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kImageBytes = 3 * 32 * 32;

// One label byte of a record and the number of classes it may name.
struct LabelField {
  std::string name;
  int64_t classes;
};

struct Records {
  torch::Tensor images;  // [N, 3, 32, 32] uint8
  torch::Tensor labels;  // [N, number of label fields] uint8
};

// dir itself when it holds `first_file`, else dir/subdir, the folder the archive unpacks to.
fs::path locate(const std::string& dir, const std::string& subdir, const std::string& first_file) {
  for (const fs::path& candidate : {fs::path(dir), fs::path(dir) / subdir})
    if (fs::exists(candidate / first_file)) return candidate;
  throw Error(dir + ": missing " + first_file + " (looked in " + dir + " and " + (fs::path(dir) / subdir).string() +
              ")");
}

int64_t record_count(const fs::path& file, int64_t record_bytes) {
  std::error_code error;
  const auto bytes = static_cast<int64_t>(fs::file_size(file, error));
  if (error) throw Error(file.string() + ": missing or unreadable: " + error.message());
  if (bytes == 0 || bytes % record_bytes != 0)
    throw Error(file.string() + ": truncated or corrupt: " + std::to_string(bytes) +
                " bytes is not a multiple of the " + std::to_string(record_bytes) + "-byte record");
  return bytes / record_bytes;
}

void check_labels(const fs::path& file, int64_t record, const uint8_t* labels, const std::vector<LabelField>& fields) {
  for (size_t i = 0; i < fields.size(); ++i)
    if (labels[i] >= fields[i].classes)
      throw Error(file.string() + ": record " + std::to_string(record) + " has " + fields[i].name + " " +
                  std::to_string(labels[i]) + ", expected below " + std::to_string(fields[i].classes));
}

// Reads every file's records into one pair of tensors, sized from the file sizes first so
// that the images are held once, not once as file bytes and again as a tensor.
Records read_records(const std::vector<fs::path>& files, const std::vector<LabelField>& fields) {
  const auto label_bytes = static_cast<int64_t>(fields.size());
  const int64_t record_bytes = label_bytes + kImageBytes;
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const fs::path& file : files) total += counts.emplace_back(record_count(file, record_bytes));

  Records records{torch::empty({total, 3, 32, 32}, torch::kByte), torch::empty({total, label_bytes}, torch::kByte)};
  auto* images = records.images.data_ptr<uint8_t>();
  auto* labels = records.labels.data_ptr<uint8_t>();
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string bytes = read_file(files[f].string());
    if (static_cast<int64_t>(bytes.size()) != counts[f] * record_bytes)
      throw Error(files[f].string() + ": the file changed size while being read");
    for (int64_t r = 0; r < counts[f]; ++r) {
      const auto* record = reinterpret_cast<const uint8_t*>(bytes.data()) + r * record_bytes;
      check_labels(files[f], r, record, fields);
      std::memcpy(labels, record, label_bytes);
      std::memcpy(images, record + label_bytes, kImageBytes);
      labels += label_bytes;
      images += kImageBytes;
    }
  }
  return records;
}

// One name a line, blank lines and surrounding white space ignored; `fallback` when the
// file is absent.
std::vector<std::string> class_names(const fs::path& file, std::vector<std::string> fallback) {
  if (!fs::exists(file)) return fallback;
  std::istringstream lines(read_file(file.string()));
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos) names.push_back(line.substr(first, line.find_last_not_of(" \t\r") - first + 1));
  }
  if (names.size() != fallback.size())
    throw Error(file.string() + ": " + std::to_string(names.size()) + " class names, expected " +
                std::to_string(fallback.size()));
  return names;
}

}  // namespace

DatasetPtr load_cifar10(const std::string& dir, Split split) {
  const fs::path root =
      locate(dir, "cifar-10-batches-bin", split == Split::train ? "data_batch_1.bin" : "test_batch.bin");
  std::vector<fs::path> files;
  if (split == Split::train)
    for (int batch = 1; batch <= 5; ++batch) files.push_back(root / ("data_batch_" + std::to_string(batch) + ".bin"));
  else
    files.push_back(root / "test_batch.bin");
  const Records records = read_records(files, {{"label", 10}});
  DatasetInfo info{"cifar-10",
                   {},
                   class_names(root / "batches.meta.txt", {"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                           "frog", "horse", "ship", "truck"})};
  return std::make_shared<TensorDataset>(std::move(info), records.images, records.labels.select(1, 0));
}

DatasetPtr load_cifar100(const std::string& dir, Split split, bool fine) {
  const std::string file = split == Split::train ? "train.bin" : "test.bin";
  const fs::path root = locate(dir, "cifar-100-binary", file);
  const Records records = read_records({root / file}, {{"coarse label", 20}, {"fine label", 100}});
  DatasetInfo info{fine ? "cifar-100" : "cifar-100-coarse",
                   {},
                   fine ? class_names(root / "fine_label_names.txt", numbered_classes(100))
                        : class_names(root / "coarse_label_names.txt", numbered_classes(20))};
  return std::make_shared<TensorDataset>(std::move(info), records.images, records.labels.select(1, fine ? 1 : 0));
}

}  // namespace zoo::data
