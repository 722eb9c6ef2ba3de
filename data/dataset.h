#pragma once
// The one data interface every model and executable uses. A Dataset is a random-access
// list of examples; loaders, transforms and models never know which file format it came
// from. Images are float32 (C, H, W) in [0, 1]; points are float32 (D).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace zoo::data {

enum class Split { train, test };
std::string to_string(Split split);

struct Example {
  torch::Tensor input;
  int64_t label = -1;    // class index; -1 for unlabelled data
  torch::Tensor target;  // regression target (float32); undefined unless the data has one
};

struct DatasetInfo {
  std::string name;                  // e.g. "fashion-mnist", "toy:moons"
  std::vector<int64_t> shape;        // shape of one example's input
  std::vector<std::string> classes;  // class names; empty when unlabelled
  bool is_image() const { return shape.size() == 3; }
  int64_t num_classes() const { return static_cast<int64_t>(classes.size()); }
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Must be safe to call from several loader threads at once.
  virtual Example get(int64_t index) const = 0;
  virtual const DatasetInfo& info() const = 0;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// "0", "1", ...: the names of classes known only by their number (MNIST's digits, and any
// labelled data set that comes without class names).
std::vector<std::string> numbered_classes(int64_t count);

// The inputs of the first `count` examples (0 = all) as one tensor [N, ...], and their
// labels [N] (−1 where unlabelled): for evaluation against whole splits.
torch::Tensor stack_inputs(const Dataset& dataset, int64_t count = 0);
torch::Tensor stack_labels(const Dataset& dataset, int64_t count = 0);

// Examples held in memory as one tensor [N, ...]. uint8 inputs (8-bit images) are kept
// as bytes and scaled to [0, 1] floats on access; float inputs are returned as they are.
// Labels are int64 [N], or undefined for unlabelled data; regression targets [N, ...]
// float, or undefined.
class TensorDataset : public Dataset {
 public:
  TensorDataset(DatasetInfo info, torch::Tensor inputs, torch::Tensor labels = {}, torch::Tensor targets = {});
  int64_t size() const override { return inputs_.size(0); }
  Example get(int64_t index) const override;
  const DatasetInfo& info() const override { return info_; }
  const torch::Tensor& inputs() const { return inputs_; }
  const torch::Tensor& labels() const { return labels_; }
  const torch::Tensor& targets() const { return targets_; }

 private:
  DatasetInfo info_;
  torch::Tensor inputs_;
  torch::Tensor labels_;
  torch::Tensor targets_;
};

// Examples [offset, offset + count) of another dataset (clipped to its size): the first N
// (--limit N), or one rank's share of a test split.
class Subset : public Dataset {
 public:
  Subset(DatasetPtr base, int64_t count, int64_t offset = 0);
  int64_t size() const override { return count_; }
  Example get(int64_t index) const override;
  const DatasetInfo& info() const override { return base_->info(); }

 private:
  DatasetPtr base_;
  int64_t count_, offset_;
};

}  // namespace zoo::data
