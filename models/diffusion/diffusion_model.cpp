#include "models/diffusion/diffusion_model.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "models/diffusion/denoising_nets.h"

namespace zoo::diffusion {

namespace {

Json precond_to_json(const PrecondOptions& p) {
  return {{"kind", to_string(p.kind)},
          {"sigma_data", p.sigma_data},
          {"beta_d", p.beta_d},
          {"beta_min", p.beta_min},
          {"vp_m", p.vp_m}};
}

PrecondOptions precond_from_json(const Json& json) {
  const std::string where = "diffusion precond";
  check_keys(json, {"kind", "sigma_data", "beta_d", "beta_min", "vp_m"}, where);
  PrecondOptions p;
  if (json.contains("kind")) {
    std::string kind;
    read_json_value(json["kind"], where + ": kind", kind);
    p.kind = parse_parameterization(kind);
  }
  for (auto [key, field] : {std::pair<const char*, double*>{"sigma_data", &p.sigma_data},
                            {"beta_d", &p.beta_d},
                            {"beta_min", &p.beta_min},
                            {"vp_m", &p.vp_m}})
    if (json.contains(key)) *field = json_real(json[key], where + ": " + key);
  return p;
}

}  // namespace

Json to_json(const DiffusionModelConfig& c) {
  return {{"net", c.net},
          {"net_config", c.net_config},
          {"precond", precond_to_json(c.precond)},
          {"shape", c.shape},
          {"symmetric_images", c.symmetric_images}};
}

DiffusionModelConfig diffusion_model_config_from_json(const Json& json) {
  const std::string where = "diffusion model config";
  check_keys(json, {"net", "net_config", "precond", "shape", "symmetric_images"}, where);
  DiffusionModelConfig c;
  if (json.contains("net")) read_json_value(json["net"], where + ": net", c.net);
  if (json.contains("net_config")) c.net_config = json["net_config"];
  if (json.contains("precond")) c.precond = precond_from_json(json["precond"]);
  if (json.contains("shape")) read_json_value(json["shape"], where + ": shape", c.shape);
  if (json.contains("symmetric_images"))
    read_json_value(json["symmetric_images"], where + ": symmetric_images", c.symmetric_images);
  return c;
}

DiffusionModel::DiffusionModel(DiffusionModelConfig config) : config_(std::move(config)) {
  config_.net_config = denoising_nets().find(config_.net).resolve(config_.net_config);
  if (config_.shape.empty()) throw Error("diffusion model config: the data shape is missing", ErrorKind::input);
  net_ = denoising_nets().find(config_.net).build(config_.net_config);
}

Json DiffusionModel::config_json() const { return to_json(config_); }

Denoiser DiffusionModel::denoiser(const torch::Tensor& labels, double guidance) const {
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
    if (!guided) return denoise(precond, network, x32, sigma, y).to(x.scalar_type());
    const torch::Tensor both = denoise(precond, network, torch::cat({x32, x32}), torch::cat({sigma, sigma}),
                                       torch::cat({y, torch::full_like(y, -1)}));
    const auto halves = both.chunk(2);
    return (halves[1] + guidance * (halves[0] - halves[1])).to(x.scalar_type());
  };
}

torch::Tensor DiffusionModel::to_model_space(const torch::Tensor& data) const {
  return config_.symmetric_images ? data * 2 - 1 : data;
}

torch::Tensor DiffusionModel::to_data_space(const torch::Tensor& x) const {
  return config_.symmetric_images ? ((x + 1) / 2).clamp(0, 1) : x;
}

}  // namespace zoo::diffusion
