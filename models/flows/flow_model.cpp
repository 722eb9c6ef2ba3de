#include "models/flows/flow_model.h"

#include <cmath>

#include "core/error.h"
#include "core/json_fields.h"
#include "data/transforms.h"
#include "models/flows/flow_models.h"

namespace zoo::flows {

namespace {

std::string resolve_preprocessing(const FlowModelConfig& c) {
  const bool images = c.shape.size() == 3;
  std::string p = c.preprocessing;
  if (p == "auto") p = images ? flow_kinds().find(c.model).image_preprocessing : "none";
  if (p != "none" && p != "unit" && p != "center" && p != "logit")
    throw Error("flow preprocessing " + p + ": expected auto, none, unit, center or logit", ErrorKind::usage);
  if (!images && p != "none")
    throw Error("flow preprocessing " + p + " is for images; vectors use none", ErrorKind::usage);
  if (images && p == "none")
    throw Error("flow preprocessing none is for vectors; images use unit, center or logit", ErrorKind::usage);
  if (!(c.logit_alpha > 0 && c.logit_alpha < 0.5))
    throw Error("flow logit_alpha must be in (0, 0.5)", ErrorKind::usage);
  return p;
}

}  // namespace

Json to_json(const FlowModelConfig& c) { return fields_to_json(c); }

FlowModelConfig flow_model_config_from_json(const Json& json) {
  const FlowModelConfig c = fields_from_json<FlowModelConfig>(json, "flow config");
  for (const char* key : {"model", "shape"})
    if (!json.contains(key)) throw Error(std::string("flow config: missing ") + key, ErrorKind::input);
  return c;
}

FlowModelImpl::FlowModelImpl(FlowModelConfig config) : config_(std::move(config)) {
  preprocessing_ = resolve_preprocessing(config_);
  auto [options, built] = flow_kinds().find(config_.model).build(config_.options, config_.shape);
  options_ = options;
  transform_ = register_module("transform", built.transform);
  base_ = register_module("base", make_distribution(built.prior, dimensions()));
}

Json FlowModelImpl::config_json() const {
  FlowModelConfig resolved = config_;
  resolved.options = options_;
  resolved.preprocessing = preprocessing_;
  return to_json(resolved);
}

int64_t FlowModelImpl::dimensions() const {
  int64_t d = 1;
  for (int64_t s : config_.shape) d *= s;
  return d;
}

std::pair<torch::Tensor, torch::Tensor> FlowModelImpl::preprocess(const torch::Tensor& x) const {
  const torch::Tensor none = torch::zeros({x.size(0)}, x.options());
  if (preprocessing_ == "none" || preprocessing_ == "unit") return {x, none};
  if (preprocessing_ == "center") return {x - 0.5, none};
  return {data::logit(x, config_.logit_alpha), data::logit_log_det(x, config_.logit_alpha)};
}

torch::Tensor FlowModelImpl::postprocess(const torch::Tensor& y) const {
  if (preprocessing_ == "none") return y;
  if (preprocessing_ == "unit") return y.clamp(0, 1);
  if (preprocessing_ == "center") return (y + 0.5).clamp(0, 1);
  const double a = config_.logit_alpha;
  return ((torch::sigmoid(y) - a) / (1 - 2 * a)).clamp(0, 1);
}

torch::Tensor FlowModelImpl::log_prob(const torch::Tensor& x, const torch::Tensor& noise) {
  std::vector<int64_t> expected{x.size(0)};
  expected.insert(expected.end(), config_.shape.begin(), config_.shape.end());
  if (x.sizes() != torch::IntArrayRef(expected))
    throw Error(
        "flow: expected data of shape " + c10::str(torch::IntArrayRef(expected)) + ", got " + c10::str(x.sizes()),
        ErrorKind::input);
  torch::Tensor input = x;
  if (noise.defined() && images()) input = data::dequantize(x, noise);
  const auto [y, pre_log_det] = preprocess(input);
  const FlowResult r = transform_->forward(y);
  return base_->log_prob(r.output) + r.log_det + pre_log_det;
}

torch::Tensor FlowModelImpl::loss(const torch::Tensor& x) {
  const torch::Tensor lp = log_prob(x, images() ? torch::rand_like(x) : torch::Tensor());
  return images() ? bits_per_dim(lp, dimensions()).mean() : -lp.mean();
}

torch::Tensor FlowModelImpl::encode(const torch::Tensor& x) { return transform_->forward(preprocess(x).first).output; }

torch::Tensor FlowModelImpl::decode(const torch::Tensor& z) {
  const torch::Tensor any = parameters().front();
  return postprocess(transform_->invert(z.to(any.device(), any.scalar_type())));
}

torch::Tensor FlowModelImpl::draw_latents(int64_t n, double temperature) {
  if (!(temperature > 0))
    throw Error("--temperature must be positive, got " + std::to_string(temperature), ErrorKind::usage);
  if (n < 1) throw Error("the number of samples must be at least 1", ErrorKind::usage);
  // Drawn on the CPU, whatever the model's device, so that a seed gives the same samples
  // everywhere; a learned prior's parameters are copied to the draw.
  torch::NoGradGuard no_grad;
  return base_->sample(n, temperature,
                       torch::TensorOptions().dtype(parameters().front().scalar_type()).device(torch::kCPU));
}

torch::Tensor bits_per_dim(const torch::Tensor& log_prob, int64_t dimensions) {
  const double d = static_cast<double>(dimensions);
  return (-log_prob + d * std::log(256.0)) / (d * std::log(2.0));
}

}  // namespace zoo::flows
