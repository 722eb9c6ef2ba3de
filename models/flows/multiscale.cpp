#include "models/flows/multiscale.h"

#include <string>

#include <c10/util/accumulate.h>

#include "core/error.h"

namespace zoo::flows {

namespace {
std::vector<int64_t> batched(int64_t b, std::vector<int64_t> shape) {
  shape.insert(shape.begin(), b);
  return shape;
}
}  // namespace

MultiScaleImpl::MultiScaleImpl(std::vector<TransformPtr> levels, std::vector<std::vector<int64_t>> level_shapes,
                               MultiScaleOptions options)
    : levels_(std::move(levels)), shapes_(std::move(level_shapes)), options_(options) {
  if (levels_.empty() || levels_.size() != shapes_.size())
    throw Error("multi-scale flow: one output shape per level is needed", ErrorKind::usage);
  for (size_t i = 0; i < levels_.size(); ++i) {
    const auto& shape = shapes_[i];
    if (shape.size() != 3) throw Error("multi-scale flow: levels must output images [C, H, W]", ErrorKind::usage);
    register_module("level" + std::to_string(i), levels_[i]);
    if (i + 1 == levels_.size()) break;
    if (shape[0] % 2 != 0)
      throw Error("multi-scale flow: level " + std::to_string(i) + " has " + std::to_string(shape[0]) +
                      " channels, which do not split in half",
                  ErrorKind::usage);
    if (options_.split_prior) {
      // Glow's Conv2dZeros: the prior starts as N(0, I).
      torch::nn::Conv2d prior(torch::nn::Conv2dOptions(shape[0] / 2, shape[0], 3).padding(1));
      torch::NoGradGuard no_grad;
      prior->weight.zero_();
      prior->bias.zero_();
      priors_.push_back(register_module("prior" + std::to_string(i), prior));
    }
  }
  if (options_.top_prior) {
    const int64_t c = shapes_.back()[0];
    top_mean_ = register_parameter("top_mean", torch::zeros({1, c, 1, 1}));
    top_log_std_ = register_parameter("top_log_std", torch::zeros({1, c, 1, 1}));
  }
}

std::pair<torch::Tensor, torch::Tensor> MultiScaleImpl::split_prior(size_t level, const torch::Tensor& kept) {
  const auto h = priors_[level]->forward(kept).chunk(2, 1);
  return {h[0], h[1]};
}

std::pair<torch::Tensor, torch::Tensor> MultiScaleImpl::top_prior() const { return {top_mean_, top_log_std_}; }

FlowResult MultiScaleImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  torch::Tensor log_det = torch::zeros({x.size(0)}, x.options());
  std::vector<torch::Tensor> parts;
  const size_t last = levels_.size() - 1;
  for (size_t i = 0; i <= last; ++i) {
    FlowResult r = levels_[i]->forward(h);
    log_det = log_det + r.log_det;
    h = r.output;
    if (i == last) break;
    auto halves = h.chunk(2, 1);
    torch::Tensor factored = halves[1];
    if (options_.split_prior) {
      const auto [mean, log_std] = split_prior(i, halves[0]);
      factored = (factored - mean) * (-log_std).exp();
      log_det = log_det - sum_per_example(log_std);
    }
    parts.push_back(factored.flatten(1));
    h = halves[0];
  }
  if (options_.top_prior) {
    const auto [mean, log_std] = top_prior();
    h = (h - mean) * (-log_std).exp();
    log_det = log_det - log_std.sum() * positions(h);
  }
  parts.push_back(h.flatten(1));
  return {torch::cat(parts, 1), log_det};
}

FlowResult MultiScaleImpl::inverse(const torch::Tensor& z) { return run_inverse(z, true); }

torch::Tensor MultiScaleImpl::invert(const torch::Tensor& z) { return run_inverse(z, false).output; }

FlowResult MultiScaleImpl::run_inverse(const torch::Tensor& z, bool log_det) {
  const int64_t b = z.size(0);
  const size_t last = levels_.size() - 1;
  // z = [factored_0, factored_1, ..., last level's output].
  std::vector<int64_t> offsets{0};
  for (size_t i = 0; i < last; ++i) offsets.push_back(offsets.back() + c10::multiply_integers(shapes_[i]) / 2);
  const int64_t width = offsets.back() + c10::multiply_integers(shapes_.back());
  if (z.dim() != 2 || z.size(1) != width)
    throw Error("multi-scale flow: expected z [B, " + std::to_string(width) + "], got " + c10::str(z.sizes()),
                ErrorKind::usage);
  torch::Tensor total = log_det ? torch::zeros({b}, z.options()) : torch::Tensor();
  torch::Tensor h = z.slice(1, offsets.back()).reshape(batched(b, shapes_.back()));
  if (options_.top_prior) {
    const auto [mean, log_std] = top_prior();
    h = h * log_std.exp() + mean;
    if (log_det) total = total + log_std.sum() * positions(h);
  }
  for (size_t i = last + 1; i-- > 0;) {
    if (i < last) {
      std::vector<int64_t> half = shapes_[i];
      half[0] /= 2;
      torch::Tensor factored = z.slice(1, offsets[i], offsets[i + 1]).reshape(batched(b, half));
      if (options_.split_prior) {
        const auto [mean, log_std] = split_prior(i, h);
        factored = factored * log_std.exp() + mean;
        if (log_det) total = total + sum_per_example(log_std);
      }
      h = torch::cat({h, factored}, 1);
    }
    if (log_det) {
      FlowResult r = levels_[i]->inverse(h);
      h = r.output;
      total = total + r.log_det;
    } else {
      h = levels_[i]->invert(h);
    }
  }
  return {h, total};
}

}  // namespace zoo::flows
