#pragma once
// A CSV table as a dataset the shared loaders read: feature columns encode each row's
// inputs, and one column is the target, either a class (classification: its distinct
// values, sorted, are the classes) or a number (regression: standardised with the
// training rows' mean and deviation, so every target has the same scale to a network).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/tabular/feature_columns.h"

namespace zoo::data {

struct TabularTarget {
  std::string column;
  std::string task;                  // classification or regression
  std::vector<std::string> classes;  // classification
  double mean = 0, std = 1;          // regression: target = (value − mean) / std
  bool classification() const { return task == "classification"; }
  Json to_json() const;
  static TabularTarget from_json(const Json& json);
};

// task "auto": classification for a text column, regression for a number column. Classes
// are taken from every row (a class absent from the training rows is still a class);
// regression statistics from `train` only.
TabularTarget fit_target(const Table& all, const Table& train, const std::string& column, const std::string& task);

// Rows split at random by `seed`: a fraction `test_fraction` (at least one row) for testing,
// the rest for training, each in file order.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_rows(int64_t rows, double test_fraction, uint64_t seed);

// Inputs [N, dense + slots] from the columns (fitted), labels or targets from the target.
DatasetPtr tabular_dataset(const Table& table, const FeatureColumns& columns, const TabularTarget& target);

}  // namespace zoo::data
