#pragma once
// Feature columns: the layer between raw table records and a network, after TensorFlow's
// feature-column API. A JSON specification lists the columns the network sees:
//
//   {"columns": [
//     {"type": "numeric", "key": "temp_max", "normalizer": "standard"},       // none | standard | minmax
//     {"type": "indicator", "categorical": {"type": "bucketized", "key": "wind", "boundaries": [2, 4, 6]}},
//     {"type": "embedding", "dimension": 4, "categorical": {"type": "identity", "key": "date.month", "buckets": 13}},
//     {"type": "indicator", "categorical": {"type": "vocabulary", "key": "city", "vocabulary": ["a", "b"],
//     "oov_buckets": 1}},
//     {"type": "indicator", "categorical": {"type": "vocabulary", "key": "city", "vocabulary_file": "cities.txt"}},
//     {"type": "indicator", "categorical": {"type": "hash", "key": "city", "buckets": 64}},
//     {"type": "indicator", "categorical": {"type": "crossed", "buckets": 100,
//                                           "columns": ["city", {"type": "bucketized", "key": "wind", "boundaries":
//                                           [3]}]}}
//   ]}
//
// Numeric columns are dense; categorical columns map each row to one bucket id (−1: none)
// and reach the network through an indicator (one-hot over the buckets; none = all zeros)
// or an embedding (a learned vector per bucket; none = zeros) column:
//   bucketized  id = how many boundaries are ≤ x: (−∞, b₀), [b₀, b₁), …, [bₙ, ∞)
//   vocabulary  id = position in the list (or the file, one entry a line); values outside
//               it go to one of `oov_buckets` hash buckets after the list, or to "default"
//               (−1). Without a list the vocabulary is learned from the training rows (sorted).
//   hash        id = FNV-1a 64 of the value's text mod `buckets` (stable across runs and machines)
//   identity    id = the integer value itself, in [0, buckets); out of range is an error
//               unless "default" names a bucket (or −1)
//   crossed     id = hash of the components' values (raw keys) or ids (categorical columns)
//               mod `buckets`
// Sizes are bounded (core/limits.h): buckets of a column by kMaxBuckets, an embedding's
// buckets x dimension by kMaxParameters, output_width() by kMaxFeatureWidth.
// Statistics (normalizer mean/std, min/max) and learned vocabularies come from fit() on
// the training rows and are written back by to_json(), so a checkpoint's columns encode new
// rows exactly as in training.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "data/tabular/csv_table.h"

namespace zoo::data {

using Json = nlohmann::json;

// FNV-1a, 64 bits: the hash of hash and crossed columns.
uint64_t fnv1a64(const std::string& text);

class CategoricalColumn {
 public:
  virtual ~CategoricalColumn() = default;
  virtual void fit(const Table&) {}
  virtual int64_t buckets() const = 0;
  // One id per row, in [0, buckets) or −1 for none.
  virtual std::vector<int64_t> ids(const Table& table) const = 0;
  virtual Json to_json() const = 0;
  // The CSV types this column needs of its keys (so a bad value is caught at its line).
  virtual void require_types(CsvOptions& options) const = 0;
};

// `where` names the spec entry in errors; a relative vocabulary_file is read from `directory`.
std::unique_ptr<CategoricalColumn> categorical_column_from_json(const Json& spec, const std::string& where,
                                                                const std::string& directory);

// One id column as the network sees it.
struct CategoricalSlot {
  int64_t buckets = 0;
  int64_t embedding_dimension = 0;  // 0: indicator (one-hot)
};

class FeatureColumns {
 public:
  // `directory`: where relative vocabulary files are (the spec file's folder).
  static FeatureColumns from_json(const Json& spec, const std::string& directory = ".");
  static FeatureColumns read(const std::string& spec_path);

  void fit(const Table& train);
  // Rows as float32 [N, dense_features() + slots().size()]: the numeric columns (normalised)
  // first, then one bucket id per categorical slot (integers, exact in float32).
  torch::Tensor encode(const Table& table) const;

  int64_t dense_features() const { return static_cast<int64_t>(numeric_.size()); }
  std::vector<CategoricalSlot> slots() const;
  // The width of the dense vector the network builds: numeric + Σ buckets (indicators) +
  // Σ dimensions (embeddings).
  int64_t output_width() const;
  CsvOptions csv_options() const;
  Json to_json() const;

 private:
  struct Numeric {
    std::string key, normalizer = "none";
    double shift = 0, scale = 1;  // x' = (x − shift) / scale
    bool fitted = false;
  };
  struct Categorical {
    std::shared_ptr<CategoricalColumn> column;
    int64_t embedding_dimension = 0;
    std::string where;  // "feature columns[i]", for errors
  };
  // Bucket counts, embedding tables and the input width against core/limits.h, after
  // reading a spec and after fit() (which learns vocabularies): before a network that
  // wide is built.
  void check_sizes() const;
  std::vector<Numeric> numeric_;
  std::vector<Categorical> categorical_;
};

}  // namespace zoo::data
