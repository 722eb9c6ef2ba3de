#include "data/tabular/feature_columns.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/limits.h"

namespace zoo::data {
namespace {

std::string key_of(const Json& spec, const std::string& where) {
  if (!spec.contains("key") || !spec["key"].is_string())
    throw Error(where + ": needs \"key\" (a column name)", ErrorKind::input);
  return spec["key"].get<std::string>();
}

int64_t positive_int(const Json& spec, const char* name, const std::string& where) {
  if (!spec.contains(name)) throw Error(where + ": needs \"" + std::string(name) + "\"", ErrorKind::input);
  const int64_t v = json_int(spec[name], where + ": " + name);
  if (v < 1) throw Error(where + ": " + name + " must be at least 1, got " + std::to_string(v), ErrorKind::input);
  return v;
}

std::string number_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return std::to_string(v);
}

// Numbers read as numbers, text as written: the value a hash or vocabulary sees.
std::vector<std::string> values_as_text(const Table& table, const std::string& key) {
  if (table.type(key) == ColumnType::text) return table.text(key);
  std::vector<std::string> out;
  for (double v : table.numbers(key)) out.push_back(number_text(v));
  return out;
}

// A date part ("date.month") needs its column read as a date; other keys as numbers.
void require_number(CsvOptions& o, const std::string& key) {
  const size_t dot = key.rfind('.');
  static const std::set<std::string> parts = {"year", "month", "day", "day_of_year", "weekday"};
  if (dot != std::string::npos && parts.count(key.substr(dot + 1)))
    o.types.emplace(key.substr(0, dot), ColumnType::date);
  else
    o.types.emplace(key, ColumnType::number);
}

class BucketizedColumn : public CategoricalColumn {
 public:
  BucketizedColumn(const Json& spec, const std::string& where) : key_(key_of(spec, where)) {
    check_keys(spec, {"type", "key", "boundaries"}, where);
    if (!spec.contains("boundaries") || !spec["boundaries"].is_array() || spec["boundaries"].empty())
      throw Error(where + ": bucketized needs \"boundaries\", a non-empty list of numbers", ErrorKind::input);
    for (const Json& b : spec["boundaries"]) boundaries_.push_back(json_real(b, where + ": boundaries"));
    for (size_t i = 1; i < boundaries_.size(); ++i)
      if (!(boundaries_[i] > boundaries_[i - 1])) throw Error(where + ": boundaries must increase", ErrorKind::input);
  }
  int64_t buckets() const override { return static_cast<int64_t>(boundaries_.size()) + 1; }
  std::vector<int64_t> ids(const Table& table) const override {
    std::vector<int64_t> out;
    for (double v : table.numbers(key_))
      out.push_back(std::upper_bound(boundaries_.begin(), boundaries_.end(), v) - boundaries_.begin());
    return out;
  }
  Json to_json() const override { return {{"type", "bucketized"}, {"key", key_}, {"boundaries", boundaries_}}; }
  void require_types(CsvOptions& o) const override { require_number(o, key_); }

 private:
  std::string key_;
  std::vector<double> boundaries_;
};

class VocabularyColumn : public CategoricalColumn {
 public:
  VocabularyColumn(const Json& spec, const std::string& where, const std::string& directory)
      : key_(key_of(spec, where)) {
    check_keys(spec, {"type", "key", "vocabulary", "vocabulary_file", "oov_buckets", "default"}, where);
    if (spec.contains("vocabulary") && spec.contains("vocabulary_file"))
      throw Error(where + ": give \"vocabulary\" or \"vocabulary_file\", not both", ErrorKind::input);
    if (spec.contains("vocabulary")) {
      if (!spec["vocabulary"].is_array())
        throw Error(where + ": vocabulary must be a list of strings", ErrorKind::input);
      for (const Json& v : spec["vocabulary"]) {
        if (!v.is_string())
          throw Error(where + ": vocabulary must be a list of strings, got " + v.dump(), ErrorKind::input);
        vocabulary_.push_back(v.get<std::string>());
      }
    } else if (spec.contains("vocabulary_file")) {
      std::filesystem::path file = spec["vocabulary_file"].get<std::string>();
      if (file.is_relative()) file = std::filesystem::path(directory) / file;
      std::ifstream in(file);
      if (!in) throw Error(where + ": cannot open vocabulary file " + file.string(), ErrorKind::input);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) vocabulary_.push_back(line);
      }
      if (vocabulary_.empty())
        throw Error(where + ": vocabulary file " + file.string() + " is empty", ErrorKind::input);
    }
    if (spec.contains("oov_buckets")) oov_ = json_int(spec["oov_buckets"], where + ": oov_buckets");
    if (spec.contains("default")) default_ = json_int(spec["default"], where + ": default");
    if (oov_ < 0) throw Error(where + ": oov_buckets must be at least 0", ErrorKind::input);
    check_limit(where + ": oov_buckets", static_cast<double>(oov_), kMaxBuckets);  // before buckets() adds to it
    if (oov_ > 0 && default_ != -1) throw Error(where + ": give oov_buckets or default, not both", ErrorKind::input);
    index();
    if (!vocabulary_.empty() && (default_ < -1 || default_ >= buckets()))
      throw Error(where + ": default must be -1 or a bucket id below " + std::to_string(buckets()), ErrorKind::input);
  }
  void fit(const Table& table) override {
    if (!vocabulary_.empty()) return;
    const std::vector<std::string> values = values_as_text(table, key_);
    const std::set<std::string> unique(values.begin(), values.end());
    vocabulary_.assign(unique.begin(), unique.end());
    index();
  }
  int64_t buckets() const override { return static_cast<int64_t>(vocabulary_.size()) + oov_; }
  std::vector<int64_t> ids(const Table& table) const override {
    if (vocabulary_.empty()) throw Error("vocabulary column '" + key_ + "' used before fit()", ErrorKind::input);
    std::vector<int64_t> out;
    const int64_t size = static_cast<int64_t>(vocabulary_.size());
    for (const std::string& v : values_as_text(table, key_)) {
      const auto found = positions_.find(v);
      if (found != positions_.end())
        out.push_back(found->second);
      else if (oov_ > 0)
        out.push_back(size + static_cast<int64_t>(fnv1a64(v) % static_cast<uint64_t>(oov_)));
      else
        out.push_back(default_);
    }
    return out;
  }
  Json to_json() const override {
    Json j = {{"type", "vocabulary"}, {"key", key_}, {"vocabulary", vocabulary_}};
    if (oov_ > 0) j["oov_buckets"] = oov_;
    if (default_ != -1) j["default"] = default_;
    return j;
  }
  void require_types(CsvOptions&) const override {}

 private:
  void index() {
    positions_.clear();
    for (size_t i = 0; i < vocabulary_.size(); ++i) positions_.emplace(vocabulary_[i], static_cast<int64_t>(i));
  }
  std::string key_;
  std::vector<std::string> vocabulary_;
  std::map<std::string, int64_t> positions_;
  int64_t oov_ = 0, default_ = -1;
};

class HashColumn : public CategoricalColumn {
 public:
  HashColumn(const Json& spec, const std::string& where) : key_(key_of(spec, where)) {
    check_keys(spec, {"type", "key", "buckets"}, where);
    buckets_ = positive_int(spec, "buckets", where);
  }
  int64_t buckets() const override { return buckets_; }
  std::vector<int64_t> ids(const Table& table) const override {
    std::vector<int64_t> out;
    for (const std::string& v : values_as_text(table, key_))
      out.push_back(static_cast<int64_t>(fnv1a64(v) % static_cast<uint64_t>(buckets_)));
    return out;
  }
  Json to_json() const override { return {{"type", "hash"}, {"key", key_}, {"buckets", buckets_}}; }
  void require_types(CsvOptions&) const override {}

 private:
  std::string key_;
  int64_t buckets_ = 1;
};

class IdentityColumn : public CategoricalColumn {
 public:
  IdentityColumn(const Json& spec, const std::string& where) : key_(key_of(spec, where)) {
    check_keys(spec, {"type", "key", "buckets", "default"}, where);
    buckets_ = positive_int(spec, "buckets", where);
    if (spec.contains("default")) {
      has_default_ = true;
      default_ = json_int(spec["default"], where + ": default");
      if (default_ < -1 || default_ >= buckets_)
        throw Error(where + ": default must be -1 or a bucket id below " + std::to_string(buckets_), ErrorKind::input);
    }
  }
  int64_t buckets() const override { return buckets_; }
  std::vector<int64_t> ids(const Table& table) const override {
    std::vector<int64_t> out;
    for (double v : table.numbers(key_)) {
      const bool ok = v == std::floor(v) && v >= 0 && v < static_cast<double>(buckets_);
      if (!ok && !has_default_)
        throw Error(table.source() + ": column '" + key_ + "': value " + number_text(v) + " is not an integer in [0, " +
                        std::to_string(buckets_) + ") (identity column; give \"default\" to map such values)",
                    ErrorKind::input);
      out.push_back(ok ? static_cast<int64_t>(v) : default_);
    }
    return out;
  }
  Json to_json() const override {
    Json j = {{"type", "identity"}, {"key", key_}, {"buckets", buckets_}};
    if (has_default_) j["default"] = default_;
    return j;
  }
  void require_types(CsvOptions& o) const override { require_number(o, key_); }

 private:
  std::string key_;
  int64_t buckets_ = 1, default_ = -1;
  bool has_default_ = false;
};

class CrossedColumn : public CategoricalColumn {
 public:
  CrossedColumn(const Json& spec, const std::string& where, const std::string& directory) {
    check_keys(spec, {"type", "columns", "buckets"}, where);
    buckets_ = positive_int(spec, "buckets", where);
    if (!spec.contains("columns") || !spec["columns"].is_array() || spec["columns"].size() < 2)
      throw Error(where + ": crossed needs \"columns\", a list of at least two keys or categorical columns",
                  ErrorKind::input);
    for (size_t i = 0; i < spec["columns"].size(); ++i) {
      const Json& c = spec["columns"][i];
      Component component;
      if (c.is_string())
        component.key = c.get<std::string>();
      else
        component.column = categorical_column_from_json(c, where + ".columns[" + std::to_string(i) + "]", directory);
      components_.push_back(std::move(component));
    }
  }
  void fit(const Table& table) override {
    for (auto& c : components_)
      if (c.column) c.column->fit(table);
  }
  int64_t buckets() const override { return buckets_; }
  std::vector<int64_t> ids(const Table& table) const override {
    std::vector<std::string> combined(static_cast<size_t>(table.rows()));
    for (size_t k = 0; k < components_.size(); ++k) {
      std::vector<std::string> values;
      if (components_[k].column)
        for (int64_t id : components_[k].column->ids(table)) values.push_back(std::to_string(id));
      else
        values = values_as_text(table, components_[k].key);
      // The unit separator keeps ("a,b", "c") and ("a", "b,c") apart.
      for (size_t r = 0; r < combined.size(); ++r) combined[r] += (k ? "\x1f" : "") + values[r];
    }
    std::vector<int64_t> out;
    for (const std::string& v : combined)
      out.push_back(static_cast<int64_t>(fnv1a64(v) % static_cast<uint64_t>(buckets_)));
    return out;
  }
  Json to_json() const override {
    Json columns = Json::array();
    for (const auto& c : components_) columns.push_back(c.column ? c.column->to_json() : Json(c.key));
    return {{"type", "crossed"}, {"columns", columns}, {"buckets", buckets_}};
  }
  void require_types(CsvOptions& o) const override {
    for (const auto& c : components_)
      if (c.column) c.column->require_types(o);
  }

 private:
  struct Component {
    std::string key;
    std::unique_ptr<CategoricalColumn> column;
  };
  std::vector<Component> components_;
  int64_t buckets_ = 1;
};

}  // namespace

uint64_t fnv1a64(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::unique_ptr<CategoricalColumn> categorical_column_from_json(const Json& spec, const std::string& where,
                                                                const std::string& directory) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    throw Error(where + ": a categorical column is an object with a \"type\"", ErrorKind::input);
  const std::string type = spec["type"];
  if (type == "bucketized") return std::make_unique<BucketizedColumn>(spec, where);
  if (type == "vocabulary") return std::make_unique<VocabularyColumn>(spec, where, directory);
  if (type == "hash") return std::make_unique<HashColumn>(spec, where);
  if (type == "identity") return std::make_unique<IdentityColumn>(spec, where);
  if (type == "crossed") return std::make_unique<CrossedColumn>(spec, where, directory);
  throw Error(
      where + ": categorical column type " + type + ": expected bucketized, vocabulary, hash, identity or crossed",
      ErrorKind::input);
}

FeatureColumns FeatureColumns::from_json(const Json& spec, const std::string& directory) {
  const Json& list = spec.is_object() && spec.contains("columns") ? spec["columns"] : spec;
  if (spec.is_object()) check_keys(spec, {"columns"}, "feature columns");
  if (!list.is_array() || list.empty())
    throw Error("feature columns: expected {\"columns\": [...]} with at least one column", ErrorKind::input);
  FeatureColumns out;
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& c = list[i];
    const std::string where = "feature columns[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("type") || !c["type"].is_string())
      throw Error(where + ": a column is an object with a \"type\" (numeric, indicator or embedding)",
                  ErrorKind::input);
    const std::string type = c["type"];
    if (type == "numeric") {
      check_keys(c, {"type", "key", "normalizer", "mean", "std", "min", "max"}, where);
      Numeric n;
      n.key = key_of(c, where);
      if (c.contains("normalizer")) read_json_value(c["normalizer"], where + ": normalizer", n.normalizer);
      if (n.normalizer == "standard" && c.contains("mean") && c.contains("std")) {
        n.shift = json_real(c["mean"], where + ": mean"), n.scale = json_real(c["std"], where + ": std"),
        n.fitted = true;
      } else if (n.normalizer == "minmax" && c.contains("min") && c.contains("max")) {
        n.shift = json_real(c["min"], where + ": min"), n.scale = json_real(c["max"], where + ": max") - n.shift,
        n.fitted = true;
      } else if (n.normalizer != "none" && n.normalizer != "standard" && n.normalizer != "minmax") {
        throw Error(where + ": normalizer " + n.normalizer + ": expected none, standard or minmax", ErrorKind::input);
      }
      if (n.fitted && !(n.scale > 0))
        throw Error(where + ": the normalizer's scale must be positive", ErrorKind::input);
      out.numeric_.push_back(n);
    } else if (type == "indicator" || type == "embedding") {
      check_keys(c,
                 type == "indicator" ? std::set<std::string>{"type", "categorical"}
                                     : std::set<std::string>{"type", "categorical", "dimension"},
                 where);
      if (!c.contains("categorical"))
        throw Error(where + ": " + type + " needs \"categorical\", a categorical column", ErrorKind::input);
      Categorical k;
      k.where = where;
      k.column = categorical_column_from_json(c["categorical"], where + ".categorical", directory);
      if (type == "embedding") k.embedding_dimension = positive_int(c, "dimension", where);
      out.categorical_.push_back(k);
    } else {
      throw Error(where + ": column type " + type +
                      ": expected numeric, indicator or embedding (categorical columns "
                      "go inside an indicator or embedding column)",
                  ErrorKind::input);
    }
  }
  out.check_sizes();
  return out;
}

FeatureColumns FeatureColumns::read(const std::string& spec_path) {
  return from_json(load_json_file(spec_path), std::filesystem::path(spec_path).parent_path().string());
}

void FeatureColumns::fit(const Table& train) {
  for (Numeric& n : numeric_) {
    if (n.fitted || n.normalizer == "none") continue;
    const std::vector<double> v = train.numbers(n.key);
    if (v.empty()) throw Error("feature columns: no training rows to fit '" + n.key + "' on", ErrorKind::input);
    if (n.normalizer == "standard") {
      double mean = 0, square = 0;
      for (double x : v) mean += x;
      mean /= static_cast<double>(v.size());
      for (double x : v) square += (x - mean) * (x - mean);
      n.shift = mean, n.scale = std::sqrt(square / static_cast<double>(v.size()));
    } else {
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      n.shift = *lo, n.scale = *hi - *lo;
    }
    if (!(n.scale > 0)) n.scale = 1;  // a constant column: centred, not scaled
    n.fitted = true;
  }
  for (Categorical& k : categorical_) k.column->fit(train);
  check_sizes();  // learned vocabularies have their sizes now
}

void FeatureColumns::check_sizes() const {
  double width = static_cast<double>(dense_features());  // in double: checked before it could overflow
  for (const Categorical& k : categorical_) {
    const auto buckets = static_cast<double>(k.column->buckets());
    check_limit(k.where + ": the categorical column's buckets", buckets, kMaxBuckets);
    if (k.embedding_dimension > 0)
      check_limit(k.where + ": the embedding table (buckets x dimension)",
                  buckets * static_cast<double>(k.embedding_dimension), kMaxParameters);
    width += k.embedding_dimension > 0 ? static_cast<double>(k.embedding_dimension) : buckets;
  }
  check_limit("feature columns: the input width (numeric columns + indicator buckets + embedding dimensions)", width,
              kMaxFeatureWidth);
}

torch::Tensor FeatureColumns::encode(const Table& table) const {
  const int64_t rows = table.rows(), width = dense_features() + static_cast<int64_t>(categorical_.size());
  torch::Tensor out = torch::empty({rows, width}, torch::kFloat);
  auto a = out.accessor<float, 2>();
  int64_t column = 0;
  for (const Numeric& n : numeric_) {
    if (n.normalizer != "none" && !n.fitted)
      throw Error("numeric column '" + n.key + "' used before fit()", ErrorKind::input);
    const std::vector<double> v = table.numbers(n.key);
    for (int64_t r = 0; r < rows; ++r)
      a[r][column] = static_cast<float>((v[static_cast<size_t>(r)] - n.shift) / n.scale);
    ++column;
  }
  for (const Categorical& k : categorical_) {
    const std::vector<int64_t> ids = k.column->ids(table);
    for (int64_t r = 0; r < rows; ++r) a[r][column] = static_cast<float>(ids[static_cast<size_t>(r)]);
    ++column;
  }
  return out;
}

std::vector<CategoricalSlot> FeatureColumns::slots() const {
  std::vector<CategoricalSlot> out;
  for (const Categorical& k : categorical_) out.push_back({k.column->buckets(), k.embedding_dimension});
  return out;
}

int64_t FeatureColumns::output_width() const {
  int64_t width = dense_features();
  for (const CategoricalSlot& s : slots()) width += s.embedding_dimension > 0 ? s.embedding_dimension : s.buckets;
  return width;
}

CsvOptions FeatureColumns::csv_options() const {
  CsvOptions options;
  for (const Numeric& n : numeric_) require_number(options, n.key);
  for (const Categorical& k : categorical_) k.column->require_types(options);
  return options;
}

Json FeatureColumns::to_json() const {
  Json columns = Json::array();
  for (const Numeric& n : numeric_) {
    Json j = {{"type", "numeric"}, {"key", n.key}, {"normalizer", n.normalizer}};
    if (n.fitted && n.normalizer == "standard") j["mean"] = n.shift, j["std"] = n.scale;
    if (n.fitted && n.normalizer == "minmax") j["min"] = n.shift, j["max"] = n.shift + n.scale;
    columns.push_back(j);
  }
  for (const Categorical& k : categorical_) {
    Json j = {{"type", k.embedding_dimension > 0 ? "embedding" : "indicator"}, {"categorical", k.column->to_json()}};
    if (k.embedding_dimension > 0) j["dimension"] = k.embedding_dimension;
    columns.push_back(j);
  }
  return {{"columns", columns}};
}

}  // namespace zoo::data
