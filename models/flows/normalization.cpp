#include "models/flows/normalization.h"

#include "core/error.h"

namespace zoo::flows {

std::vector<int64_t> per_channel_shape(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return {1, shape[0]};
  if (shape.size() == 3) return {1, shape[0], 1, 1};
  throw Error("flow layer: expected vector [D] or image [C, H, W] shape", ErrorKind::usage);
}

namespace {

// Dimensions a per-channel statistic reduces over: the batch, and height and width.
std::vector<int64_t> reduced_dims(const torch::Tensor& x) {
  return x.dim() == 4 ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0};
}
}  // namespace

DiagonalScalingImpl::DiagonalScalingImpl(const std::vector<int64_t>& shape) {
  log_scale_ = register_parameter("log_scale", torch::zeros(per_channel_shape(shape)));
}

FlowResult DiagonalScalingImpl::forward(const torch::Tensor& x) {
  return {x * log_scale_.exp(), same_for_batch(log_scale_.sum() * positions(x), x.size(0))};
}

FlowResult DiagonalScalingImpl::inverse(const torch::Tensor& y) {
  return {invert(y), same_for_batch(-log_scale_.sum() * positions(y), y.size(0))};
}

torch::Tensor DiagonalScalingImpl::invert(const torch::Tensor& y) { return y * (-log_scale_).exp(); }

ActNormImpl::ActNormImpl(const std::vector<int64_t>& shape) {
  bias_ = register_parameter("bias", torch::zeros(per_channel_shape(shape)));
  log_scale_ = register_parameter("log_scale", torch::zeros(per_channel_shape(shape)));
  initialized_ = register_buffer("initialized", torch::zeros({}, torch::kBool));
}

FlowResult ActNormImpl::forward(const torch::Tensor& x) {
  if (is_training() && !initialized()) {
    // Glow's data-dependent initialisation; a constant channel gets scale 1, not 1/0.
    torch::NoGradGuard no_grad;
    const auto dims = reduced_dims(x);
    const torch::Tensor mean = x.mean(dims, /*keepdim=*/true);
    const torch::Tensor std = x.std(dims, /*unbiased=*/false, /*keepdim=*/true);
    bias_.copy_(-mean);
    log_scale_.copy_(-torch::log(std.clamp_min(1e-6)).where(std > 1e-6, torch::zeros_like(std)));
    initialized_.fill_(true);
  }
  return {(x + bias_) * log_scale_.exp(), same_for_batch(log_scale_.sum() * positions(x), x.size(0))};
}

FlowResult ActNormImpl::inverse(const torch::Tensor& y) {
  return {invert(y), same_for_batch(-log_scale_.sum() * positions(y), y.size(0))};
}

torch::Tensor ActNormImpl::invert(const torch::Tensor& y) { return y * (-log_scale_).exp() - bias_; }

FlowBatchNormImpl::FlowBatchNormImpl(const std::vector<int64_t>& shape, double momentum, double eps)
    : momentum_(momentum), eps_(eps) {
  log_gamma_ = register_parameter("log_gamma", torch::zeros(per_channel_shape(shape)));
  beta_ = register_parameter("beta", torch::zeros(per_channel_shape(shape)));
  running_mean_ = register_buffer("running_mean", torch::zeros(per_channel_shape(shape)));
  running_var_ = register_buffer("running_var", torch::ones(per_channel_shape(shape)));
}

FlowResult FlowBatchNormImpl::forward(const torch::Tensor& x) {
  torch::Tensor mean = running_mean_, var = running_var_;
  if (is_training()) {
    const auto dims = reduced_dims(x);
    mean = x.mean(dims, true);
    var = (x - mean).pow(2).mean(dims, true);
    torch::NoGradGuard no_grad;
    running_mean_.mul_(1 - momentum_).add_(mean.detach() * momentum_);
    running_var_.mul_(1 - momentum_).add_(var.detach() * momentum_);
  }
  const torch::Tensor log_scale = log_gamma_ - 0.5 * torch::log(var + eps_);
  return {(x - mean) * log_scale.exp() + beta_, same_for_batch(log_scale.sum() * positions(x), x.size(0))};
}

// Sampling and reconstruction run in eval mode: the running statistics.
torch::Tensor FlowBatchNormImpl::eval_log_scale() const { return log_gamma_ - 0.5 * torch::log(running_var_ + eps_); }

FlowResult FlowBatchNormImpl::inverse(const torch::Tensor& y) {
  return {invert(y), same_for_batch(-eval_log_scale().sum() * positions(y), y.size(0))};
}

torch::Tensor FlowBatchNormImpl::invert(const torch::Tensor& y) {
  return (y - beta_) * (-eval_log_scale()).exp() + running_mean_;
}

}  // namespace zoo::flows
