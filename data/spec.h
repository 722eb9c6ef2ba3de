#pragma once
// Data specs: one string names a dataset and its options, the same in every executable.
//   fashion-mnist                  Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist)
//   mnist:DIR  idx:DIR             IDX files (gzipped or not)
//   cifar10:DIR  cifar100:DIR      the binary batch format (cifar100 takes ,labels=coarse)
//   folder:DIR                     one sub-folder per class (,size=64 ,channels=3)
//   toy:NAME                       moons, 8gaussians, checkerboard, 2spirals, pinwheel,
//                                  circles, swissroll (,train=20000 ,test=5000)
//   csv:FILE                       a table, for train_tabular (data/tabular/)
// Options follow the path as ",key=value". Sizes are bounded (size <= kMaxImageSide,
// train/test <= kMaxToyPoints, core/limits.h): a larger value is a usage error, not an
// attempt to allocate it.
#include <map>
#include <string>

#include "data/dataset.h"

namespace zoo::data {

struct DataSpec {
  std::string kind;                            // "fashion-mnist", "toy", "cifar10", ...
  std::string path;                            // directory or toy name; may be empty
  std::map<std::string, std::string> options;  // ",key=value" pairs
};

DataSpec parse_data_spec(const std::string& text);

// Opens one split of the dataset a spec names; limit > 0 keeps the first `limit` examples.
DatasetPtr open_dataset(const std::string& spec, Split split, int64_t limit = 0);

}  // namespace zoo::data
