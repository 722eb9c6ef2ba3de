#include "data/dataset.h"

#include "core/error.h"

namespace zoo::data {

std::string to_string(Split split) { return split == Split::train ? "train" : "test"; }

std::vector<std::string> numbered_classes(int64_t count) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < count; ++i) names.push_back(std::to_string(i));
  return names;
}

TensorDataset::TensorDataset(DatasetInfo info, torch::Tensor inputs, torch::Tensor labels, torch::Tensor targets)
    : info_(std::move(info)), inputs_(inputs.contiguous()), labels_(std::move(labels)), targets_(std::move(targets)) {
  if (targets_.defined()) {
    if (targets_.dim() < 1 || targets_.size(0) != inputs_.size(0))
      throw Error(info_.name + ": " + std::to_string(inputs_.size(0)) + " inputs but targets of shape " +
                  c10::str(targets_.sizes()));
    targets_ = targets_.to(torch::kFloat).contiguous();
  }
  if (labels_.defined()) {
    if (labels_.dim() != 1 || labels_.size(0) != inputs_.size(0))
      throw Error(info_.name + ": " + std::to_string(inputs_.size(0)) + " inputs but labels of shape " +
                  c10::str(labels_.sizes()));
    labels_ = labels_.to(torch::kLong).contiguous();
  }
  info_.shape = inputs_.sizes().slice(1).vec();
}

Example TensorDataset::get(int64_t index) const {
  torch::Tensor x = inputs_[index];
  x = x.scalar_type() == torch::kByte ? x.to(torch::kFloat).div_(255.0) : x.to(torch::kFloat).clone();
  return {x, labels_.defined() ? labels_[index].item<int64_t>() : -1,
          targets_.defined() ? targets_[index].clone() : torch::Tensor()};
}

Subset::Subset(DatasetPtr base, int64_t count, int64_t offset) : base_(std::move(base)), offset_(offset) {
  if (count < 1) throw Error("--limit must be at least 1, got " + std::to_string(count), ErrorKind::usage);
  if (offset < 0 || offset >= base_->size())
    throw Error("subset from example " + std::to_string(offset) + " of a dataset of " + std::to_string(base_->size()),
                ErrorKind::usage);
  count_ = std::min(count, base_->size() - offset);
}

Example Subset::get(int64_t index) const { return base_->get(offset_ + index); }

namespace {
int64_t examples_to_take(const Dataset& dataset, int64_t count) {
  return count > 0 ? std::min(count, dataset.size()) : dataset.size();
}
}  // namespace

torch::Tensor stack_inputs(const Dataset& dataset, int64_t count) {
  std::vector<torch::Tensor> inputs;
  for (int64_t i = 0, n = examples_to_take(dataset, count); i < n; ++i) inputs.push_back(dataset.get(i).input);
  if (inputs.empty()) throw Error(dataset.info().name + ": no examples");
  return torch::stack(inputs);
}

torch::Tensor stack_labels(const Dataset& dataset, int64_t count) {
  const int64_t n = examples_to_take(dataset, count);
  torch::Tensor labels = torch::empty({n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) labels[i] = dataset.get(i).label;
  return labels;
}

}  // namespace zoo::data
