#pragma once
// A trained diffusion model as one object: the network (MLP or U-Net, by name), its
// preconditioning, and the shape and scaling of the data it models. Its JSON config is
// what a checkpoint carries, so sample_diffusion rebuilds exactly what train_diffusion
// trained.
//
//   DiffusionModel model(config);
//   Denoiser d = model.denoiser(labels, /*guidance=*/2.0);  // what every sampler takes
//
// Images are modelled in [−1, 1] (data·2 − 1, σ_data = 0.5 as in EDM); vectors as they
// are, with σ_data set to the data's standard deviation.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "models/diffusion/denoising_net.h"
#include "models/diffusion/precond.h"
#include "models/diffusion/samplers.h"

namespace zoo::diffusion {

struct DiffusionModelConfig {
  std::string net = "unet";          // unet or mlp
  Json net_config = Json::object();  // the network's options (unknown keys are errors)
  PrecondOptions precond;
  std::vector<int64_t> shape;     // one example: [C, H, W] or [features]
  bool symmetric_images = false;  // data in [0, 1] is modelled as 2x − 1
};

template <class Visit>
void visit_fields(DiffusionModelConfig& c, Visit&& field) {
  field("net", c.net);
  field("net_config", c.net_config);
  field("precond", c.precond);
  field("shape", c.shape);
  field("symmetric_images", c.symmetric_images);
}

Json to_json(const DiffusionModelConfig& config);
DiffusionModelConfig diffusion_model_config_from_json(const Json& json);

class DiffusionModel {
 public:
  explicit DiffusionModel(DiffusionModelConfig config);

  const DiffusionModelConfig& config() const { return config_; }
  Json config_json() const;  // resolved: every network option spelled out
  const std::shared_ptr<DenoisingNetImpl>& net() const { return net_; }
  int64_t num_classes() const { return net_->num_classes(); }

  // F for training losses (float32 in, float32 out).
  Network network() const { return as_network(net_); }
  // D(x; σ) for samplers: x in any float dtype, σ [B] float64. With labels and guidance
  // w ≠ 1 it is classifier-free guidance, D_uncond + w·(D_cond − D_uncond), both halves in
  // one batched network call; w = 1 is the plain conditional model. A guidance scale for an
  // unconditional model, or labels outside the classes, are usage errors.
  Denoiser denoiser(const torch::Tensor& labels = {}, double guidance = 1) const;
  // The same, also giving the unconditional half under guidance (for CFG++).
  GuidedDenoiser guided_denoiser(const torch::Tensor& labels = {}, double guidance = 1) const;

  // Between data space and model space (identity for vectors).
  torch::Tensor to_model_space(const torch::Tensor& data) const;
  torch::Tensor to_data_space(const torch::Tensor& x) const;

 private:
  DiffusionModelConfig config_;
  std::shared_ptr<DenoisingNetImpl> net_;
};

}  // namespace zoo::diffusion
