#pragma once
// A normalizing flow as one module: preprocessing, the transform and the base
// distribution, rebuilt from a JSON config that a checkpoint carries.
//
//   log p(x) = log p_Z(f(x)) + log|det ∂f/∂x|
//
// Images come in [0, 1] as k/255. With dequantize, training and evaluation see
// x = (k + u)/256, u ~ U[0, 1)³, and the result is in bits per dimension on the 256-level
// scale: bpd = (−log p(x) + D·ln 256)/(D·ln 2) (REFERENCE.md). Preprocessing before the
// flow is part of f and its log-det is counted:
//   none     vectors as they are
//   unit     x itself (NICE)
//   center   x − 0.5 (Glow)
//   logit    logit(α + (1 − 2α)x) (RealNVP, α = 0.05)
#include <string>
#include <vector>

#include "core/json.h"
#include "models/flows/distributions.h"
#include "models/flows/transform.h"

namespace zoo::flows {

struct FlowModelConfig {
  std::string model = "glow";          // nice, realnvp or glow
  Json options = Json::object();       // the model's option struct (unknown keys are errors)
  std::vector<int64_t> shape;          // one example: [C, H, W] or [D]
  std::string preprocessing = "auto";  // auto (the model's own for images, none for vectors), none, unit, center, logit
  double logit_alpha = 0.05;
};

template <class Visit>
void visit_fields(FlowModelConfig& c, Visit&& field) {
  field("model", c.model);
  field("options", c.options);
  field("shape", c.shape);
  field("preprocessing", c.preprocessing);
  field("logit_alpha", c.logit_alpha);
}

Json to_json(const FlowModelConfig& config);
// "model" and "shape" are required; a checkpoint's config has both.
FlowModelConfig flow_model_config_from_json(const Json& json);

class FlowModelImpl : public torch::nn::Module {
 public:
  explicit FlowModelImpl(FlowModelConfig config);

  const FlowModelConfig& config() const { return config_; }
  Json config_json() const;  // resolved: every option spelled out
  bool images() const { return config_.shape.size() == 3; }
  int64_t dimensions() const;  // D

  // log p(x) per example [B], in nats, for data x [B, ...] (images in [0, 1]). Images
  // are dequantised with `noise` u ∈ [0, 1) shaped like x, x → (round(255x) + u)/256;
  // without it they are scored as they are.
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& noise = {});
  // −log p(x) in bits per dimension on the 256-level scale (images, dequantised with fresh
  // noise from the default generator) or nats (vectors), averaged over the batch.
  torch::Tensor loss(const torch::Tensor& x);
  // z for data x (preprocessed, no noise): [B, D].
  torch::Tensor encode(const torch::Tensor& x);
  // Data for z [B, D] (images clamped to [0, 1]).
  torch::Tensor decode(const torch::Tensor& z);
  // z for n samples at temperature T, drawn on the CPU from the default generator in one
  // call (so sample i is the same however the samples are later batched).
  torch::Tensor draw_latents(int64_t n, double temperature);
  torch::Tensor sample(int64_t n, double temperature) { return decode(draw_latents(n, temperature)); }

  const TransformPtr& transform() const { return transform_; }
  const DistributionPtr& base() const { return base_; }

 private:
  // Data → the flow's input, with its per-example log-det.
  std::pair<torch::Tensor, torch::Tensor> preprocess(const torch::Tensor& x) const;
  torch::Tensor postprocess(const torch::Tensor& y) const;

  FlowModelConfig config_;
  std::string preprocessing_;  // resolved
  Json options_;               // resolved
  TransformPtr transform_;
  DistributionPtr base_;
};
TORCH_MODULE(FlowModel);

// Bits per dimension from log p(x) [B] (in nats, of x dequantized to (k + u)/256) of
// D-dimensional 8-bit data.
torch::Tensor bits_per_dim(const torch::Tensor& log_prob, int64_t dimensions);

}  // namespace zoo::flows
