#include "models/diffusion/diffusion_model.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "models/diffusion/denoising_nets.h"

namespace zoo::diffusion {

Json to_json(const DiffusionModelConfig& c) { return fields_to_json(c); }

DiffusionModelConfig diffusion_model_config_from_json(const Json& json) {
  return fields_from_json<DiffusionModelConfig>(json, "diffusion model config");
}

DiffusionModel::DiffusionModel(DiffusionModelConfig config) : config_(std::move(config)) {
  config_.net_config = denoising_nets().find(config_.net).resolve(config_.net_config);
  if (config_.shape.empty()) throw Error("diffusion model config: the data shape is missing", ErrorKind::input);
  net_ = denoising_nets().find(config_.net).build(config_.net_config);
}

Json DiffusionModel::config_json() const { return to_json(config_); }

Denoiser DiffusionModel::denoiser(const torch::Tensor& labels, double guidance) const {
  const GuidedDenoiser guided = guided_denoiser(labels, guidance);
  return [guided](const torch::Tensor& x, const torch::Tensor& sigma) { return guided(x, sigma).denoised; };
}

GuidedDenoiser DiffusionModel::guided_denoiser(const torch::Tensor& labels, double guidance) const {
  const int64_t classes = num_classes();
  if (guidance != 1 && classes == 0)
    throw Error("--guidance needs a class-conditional model; this one is unconditional", ErrorKind::usage);
  if (labels.defined() && classes == 0)
    throw Error("--class needs a class-conditional model; this one is unconditional", ErrorKind::usage);
  if (labels.defined() && ((labels >= classes) | (labels < -1)).any().item<bool>())
    throw Error("class labels must be in 0.." + std::to_string(classes - 1) + " (or −1 for none)", ErrorKind::usage);
  const PrecondOptions precond = config_.precond;
  const Network network = this->network();
  const bool guided = labels.defined() && guidance != 1;
  return [=](const torch::Tensor& x, const torch::Tensor& sigma) {
    const torch::Tensor x32 = x.to(torch::kFloat);
    const torch::Tensor y = labels.defined() ? labels.to(x.device()) : labels;
    if (!guided) return Guided{denoise(precond, network, x32, sigma, y).to(x.scalar_type()), {}};
    const torch::Tensor both = denoise(precond, network, torch::cat({x32, x32}), torch::cat({sigma, sigma}),
                                       torch::cat({y, torch::full_like(y, -1)}));
    const auto halves = both.chunk(2);
    return Guided{(halves[1] + guidance * (halves[0] - halves[1])).to(x.scalar_type()), halves[1].to(x.scalar_type())};
  };
}

torch::Tensor DiffusionModel::to_model_space(const torch::Tensor& data) const {
  return config_.symmetric_images ? data * 2 - 1 : data;
}

torch::Tensor DiffusionModel::to_data_space(const torch::Tensor& x) const {
  return config_.symmetric_images ? ((x + 1) / 2).clamp(0, 1) : x;
}

}  // namespace zoo::diffusion
