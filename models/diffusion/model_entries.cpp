#include "models/diffusion/model_entries.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "models/diffusion/unet.h"

namespace zoo::models {

std::vector<ModelEntry> diffusion_model_entries() {
  ModelEntry e;
  e.name = "unet";
  e.family = "diffusion";
  e.description = "the denoising U-Net of train_diffusion (DDPM++/ADM style), 1x28x28 by default";
  e.default_config = fields_to_json(diffusion::UNetOptions{});
  e.resolve = [](const Json& config) {
    return fields_to_json(fields_from_json<diffusion::UNetOptions>(config, "unet config"));
  };
  e.build = [](const Json& config) -> std::shared_ptr<torch::nn::Module> {
    return diffusion::UNet(fields_from_json<diffusion::UNetOptions>(config, "unet config")).ptr();
  };
  // The encoder at noise level zero (c_noise = 0) and class 0: the analysis reads its maps.
  e.analyse = [](torch::nn::Module& module, const torch::Tensor& images) {
    auto* unet = dynamic_cast<diffusion::UNetImpl*>(&module);
    if (!unet) throw Error("unet: the module is not a U-Net", ErrorKind::runtime);
    const int64_t n = images.size(0);
    return unet->bottleneck(images, torch::zeros({n}, images.options()),
                            torch::zeros({n}, images.options().dtype(torch::kLong)));
  };
  e.image_shape = [](const Json& config) {
    const auto o = fields_from_json<diffusion::UNetOptions>(config, "unet config");
    return std::vector<int64_t>{o.in_channels, o.resolution, o.resolution};
  };
  return {e};
}

}  // namespace zoo::models
