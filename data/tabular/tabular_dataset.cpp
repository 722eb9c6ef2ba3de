#include "data/tabular/tabular_dataset.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "core/limits.h"
#include "core/seed.h"

namespace zoo::data {

Json TabularTarget::to_json() const {
  Json j = {{"column", column}, {"task", task}};
  if (classification())
    j["classes"] = classes;
  else
    j["mean"] = mean, j["std"] = std;
  return j;
}

TabularTarget TabularTarget::from_json(const Json& json) {
  TabularTarget t;
  t.column = json.at("column").get<std::string>();
  t.task = json.at("task").get<std::string>();
  if (t.classification())
    t.classes = json.at("classes").get<std::vector<std::string>>();
  else
    t.mean = json.at("mean").get<double>(), t.std = json.at("std").get<double>();
  return t;
}

TabularTarget fit_target(const Table& all, const Table& train, const std::string& column, const std::string& task) {
  if (!all.has(column)) all.text(column);  // throws, naming the columns
  TabularTarget t;
  t.column = column;
  t.task = task == "auto" ? (all.type(column) == ColumnType::text ? "classification" : "regression") : task;
  if (t.task == "classification") {
    const std::vector<std::string> values = all.text(column);
    const std::set<std::string> unique(values.begin(), values.end());
    t.classes.assign(unique.begin(), unique.end());
    check_limit(all.source() + ": target '" + column + "': the number of classes (distinct values)",
                static_cast<double>(t.classes.size()), kMaxClasses);
    if (t.classes.size() < 2)
      throw Error(all.source() + ": target '" + column + "' has " + std::to_string(t.classes.size()) +
                      " distinct value(s); classification needs at least two",
                  ErrorKind::input);
  } else if (t.task == "regression") {
    const std::vector<double> v = train.numbers(column);
    double mean = 0, square = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(std::max<size_t>(1, v.size()));
    for (double x : v) square += (x - mean) * (x - mean);
    t.mean = mean;
    t.std = std::sqrt(square / static_cast<double>(std::max<size_t>(1, v.size())));
    if (!(t.std > 0)) t.std = 1;
  } else {
    throw Error("--task " + task + ": expected auto, classification or regression", ErrorKind::usage);
  }
  return t;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_rows(int64_t rows, double test_fraction, uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1))
    throw Error("--test-fraction must be in (0, 1), got " + std::to_string(test_fraction), ErrorKind::usage);
  if (rows < 2) throw Error("a table needs at least two rows to split into training and test rows", ErrorKind::input);
  std::vector<int64_t> order(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) order[static_cast<size_t>(i)] = i;
  // Fisher–Yates with our own draw, so the split is the same with every standard library.
  std::mt19937_64 rng(derive_seed(seed, static_cast<uint64_t>(Stream::shuffle), 0));
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
  const auto test_rows =
      std::clamp<int64_t>(static_cast<int64_t>(std::llround(test_fraction * static_cast<double>(rows))), 1, rows - 1);
  std::vector<int64_t> test(order.begin(), order.begin() + test_rows), train(order.begin() + test_rows, order.end());
  std::sort(test.begin(), test.end());
  std::sort(train.begin(), train.end());
  return {train, test};
}

DatasetPtr tabular_dataset(const Table& table, const FeatureColumns& columns, const TabularTarget& target) {
  DatasetInfo info;
  info.name = "csv:" + table.source();
  torch::Tensor inputs = columns.encode(table);
  if (target.classification()) {
    info.classes = target.classes;
    std::vector<int64_t> labels;
    for (const std::string& v : table.text(target.column)) {
      const auto found = std::find(target.classes.begin(), target.classes.end(), v);
      if (found == target.classes.end())
        throw Error(
            table.source() + ": target '" + target.column + "' value '" + v + "' is not one of the model's classes",
            ErrorKind::input);
      labels.push_back(found - target.classes.begin());
    }
    return std::make_shared<TensorDataset>(info, inputs, torch::tensor(labels, torch::kLong));
  }
  std::vector<double> values = table.numbers(target.column);
  for (double& v : values) v = (v - target.mean) / target.std;
  return std::make_shared<TensorDataset>(info, inputs, torch::Tensor(),
                                         torch::tensor(values, torch::kDouble).to(torch::kFloat).unsqueeze(1));
}

}  // namespace zoo::data
