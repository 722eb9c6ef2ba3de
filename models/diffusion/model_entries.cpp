#include "models/diffusion/model_entries.h"

#include "core/error.h"
#include "models/diffusion/denoising_nets.h"
#include "models/diffusion/unet.h"

namespace zoo::models {

std::vector<ModelEntry> diffusion_model_entries() {
  std::vector<ModelEntry> entries;
  for (const auto& net : diffusion::denoising_nets().entries()) {
    const diffusion::DenoisingNetKind& kind = net.value;
    ModelEntry e;
    e.name = net.name;
    e.family = "diffusion";
    e.description = kind.description;
    e.default_config = kind.resolve(Json::object());
    e.resolve = kind.resolve;
    e.build = [build = kind.build](const Json& config) -> std::shared_ptr<torch::nn::Module> { return build(config); };
    // The network at noise level zero (c_noise = 0), class 0 for a conditional one.
    e.forward = [](torch::nn::Module& module, const torch::Tensor& examples) {
      auto* denoiser = dynamic_cast<diffusion::DenoisingNetImpl*>(&module);
      if (!denoiser) throw Error("the module is not a denoising network", ErrorKind::runtime);
      const int64_t n = examples.size(0);
      const torch::Tensor labels =
          denoiser->num_classes() > 0 ? torch::zeros({n}, examples.options().dtype(torch::kLong)) : torch::Tensor();
      return denoiser->forward(examples, torch::zeros({n}, examples.options()), labels);
    };
    e.example_shape = kind.example_shape;
    if (net.name == "unet")
      e.maps = [](torch::nn::Module& module, const torch::Tensor& images) {
        auto& unet = dynamic_cast<diffusion::UNetImpl&>(module);
        const int64_t n = images.size(0);
        return unet.bottleneck(images, torch::zeros({n}, images.options()),
                               torch::zeros({n}, images.options().dtype(torch::kLong)));
      };
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace zoo::models
