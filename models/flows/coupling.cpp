#include "models/flows/coupling.h"

#include "core/error.h"

namespace zoo::flows {

CouplingImpl::CouplingImpl(const std::vector<int64_t>& shape, CouplingOptions options)
    : options_(std::move(options)), partition_(Partition::make(options_.partition, shape, options_.swap)) {
  const bool affine = options_.kind == "affine";
  if (!affine && options_.kind != "additive")
    throw Error("coupling " + options_.kind + ": expected additive or affine", ErrorKind::usage);
  if (affine && options_.scale != "sigmoid" && options_.scale != "tanh")
    throw Error("coupling scale " + options_.scale + ": expected sigmoid or tanh", ErrorKind::usage);
  ConditionerOptions net = options_.net;
  net.image = shape.size() == 3;
  net.in = partition_.conditioner_channels();
  net.out = (affine ? 2 : 1) * partition_.changed_channels();
  net_ = register_module("net", make_conditioner(net));
  if (affine && options_.scale == "tanh") {
    std::vector<int64_t> per_channel{1, partition_.changed_channels()};
    if (net.image) per_channel.insert(per_channel.end(), {1, 1});
    tanh_scale_ = register_parameter("tanh_scale", torch::ones(per_channel));
  }
}

std::pair<torch::Tensor, torch::Tensor> CouplingImpl::parameters(const torch::Tensor& x) {
  const torch::Tensor h = net_->forward(partition_.conditioner_input(x));
  if (options_.kind == "additive") return {h, torch::Tensor()};
  const auto halves = h.chunk(2, 1);
  const torch::Tensor log_scale =
      options_.scale == "sigmoid" ? torch::log_sigmoid(halves[0] + 2.0) : tanh_scale_ * torch::tanh(halves[0]);
  return {halves[1], log_scale};
}

FlowResult CouplingImpl::forward(const torch::Tensor& x) {
  const auto [shift, log_scale] = parameters(x);
  const torch::Tensor x2 = partition_.changed(x);
  if (!log_scale.defined()) return {partition_.merge(x, x2 + shift), torch::zeros({x.size(0)}, x.options())};
  return {partition_.merge(x, x2 * log_scale.exp() + shift), partition_.sum_changed(log_scale)};
}

// The kept part of y is the kept part of x, so the parameters are the forward ones.
torch::Tensor CouplingImpl::undo(const torch::Tensor& y, const torch::Tensor& shift, const torch::Tensor& log_scale) {
  const torch::Tensor y2 = partition_.changed(y);
  return partition_.merge(y, log_scale.defined() ? (y2 - shift) * (-log_scale).exp() : y2 - shift);
}

FlowResult CouplingImpl::inverse(const torch::Tensor& y) {
  const auto [shift, log_scale] = parameters(y);
  return {undo(y, shift, log_scale),
          log_scale.defined() ? -partition_.sum_changed(log_scale) : torch::zeros({y.size(0)}, y.options())};
}

torch::Tensor CouplingImpl::invert(const torch::Tensor& y) {
  const auto [shift, log_scale] = parameters(y);
  return undo(y, shift, log_scale);
}

}  // namespace zoo::flows
