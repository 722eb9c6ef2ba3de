#include "data/spec.h"

#include "core/error.h"
#include "data/cifar.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/toy.h"

namespace zoo::data {

DataSpec parse_data_spec(const std::string& text) {
  DataSpec spec;
  const size_t comma = text.find(',');
  const std::string head = text.substr(0, comma);
  const size_t colon = head.find(':');
  spec.kind = head.substr(0, colon);
  if (colon != std::string::npos) spec.path = head.substr(colon + 1);
  size_t start = comma;
  while (start != std::string::npos) {
    const size_t end = text.find(',', start + 1);
    const std::string pair = text.substr(start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
    const size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0)
      throw Error("--data " + text + ": expected ,key=value after the path, got '" + pair + "'", ErrorKind::usage);
    spec.options[pair.substr(0, equals)] = pair.substr(equals + 1);
    start = end;
  }
  if (spec.kind.empty()) throw Error("--data: empty dataset spec", ErrorKind::usage);
  return spec;
}

namespace {

// Takes option `key` out of the spec (so that leftovers can be reported as unknown).
int64_t take_integer(DataSpec& spec, const std::string& key, int64_t fallback) {
  auto it = spec.options.find(key);
  if (it == spec.options.end()) return fallback;
  const std::string value = it->second;
  spec.options.erase(it);
  try {
    size_t used = 0;
    const int64_t n = std::stoll(value, &used);
    if (used == value.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  throw Error("--data: option " + key + "=" + value + " must be a positive integer", ErrorKind::usage);
}

std::string take_text(DataSpec& spec, const std::string& key, const std::string& fallback) {
  auto it = spec.options.find(key);
  if (it == spec.options.end()) return fallback;
  std::string value = it->second;
  spec.options.erase(it);
  return value;
}

void require_path(const DataSpec& spec, const std::string& what) {
  if (spec.path.empty())
    throw Error("--data " + spec.kind + ": needs " + what + " (" + spec.kind + ":PATH)", ErrorKind::usage);
}

DatasetPtr open_spec(DataSpec spec, Split split) {
  DatasetPtr data;
  if (spec.kind == "fashion-mnist") {
    data = load_idx_dataset(spec.path.empty() ? kFashionMnistDir : spec.path, split, "fashion-mnist",
                            fashion_mnist_classes());
  } else if (spec.kind == "mnist") {
    require_path(spec, "a directory of IDX files");
    data = load_idx_dataset(spec.path, split, "mnist", mnist_classes());
  } else if (spec.kind == "idx") {
    require_path(spec, "a directory of IDX files");
    data = load_idx_dataset(spec.path, split, "idx:" + spec.path, {});
  } else if (spec.kind == "cifar10") {
    require_path(spec, "the directory of the binary batches");
    data = load_cifar10(spec.path, split);
  } else if (spec.kind == "cifar100") {
    require_path(spec, "the directory of train.bin and test.bin");
    const std::string labels = take_text(spec, "labels", "fine");
    if (labels != "fine" && labels != "coarse")
      throw Error("--data cifar100: labels must be fine or coarse, got " + labels, ErrorKind::usage);
    data = load_cifar100(spec.path, split, labels == "fine");
  } else if (spec.kind == "folder") {
    require_path(spec, "a directory with one sub-folder per class");
    ImageFolderOptions options;
    options.size = take_integer(spec, "size", options.size);
    options.channels = take_integer(spec, "channels", options.channels);
    if (options.channels != 1 && options.channels != 3)
      throw Error("--data folder: channels must be 1 or 3", ErrorKind::usage);
    data = load_image_folder(spec.path, split, options);
  } else if (spec.kind == "csv") {
    throw Error("--data csv:FILE is a table: train_tabular reads it, through --columns and --target", ErrorKind::usage);
  } else if (spec.kind == "toy") {
    require_path(spec, "a distribution name");
    const int64_t train = take_integer(spec, "train", 20000), test = take_integer(spec, "test", 5000);
    data = load_toy(spec.path, split, train, test);
  } else {
    throw Error("--data " + spec.kind +
                    ": unknown dataset kind (expected fashion-mnist, mnist:DIR, idx:DIR, "
                    "cifar10:DIR, cifar100:DIR, folder:DIR or toy:NAME)",
                ErrorKind::usage);
  }
  if (!spec.options.empty())
    throw Error("--data: unknown option '" + spec.options.begin()->first + "' for " + spec.kind, ErrorKind::usage);
  return data;
}

}  // namespace

DatasetPtr open_dataset(const std::string& text, Split split, int64_t limit) {
  DatasetPtr data = open_spec(parse_data_spec(text), split);
  if (limit > 0) data = std::make_shared<Subset>(data, limit);
  return data;
}

}  // namespace zoo::data
