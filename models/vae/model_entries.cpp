#include "models/vae/model_entries.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "models/vae/vae.h"

namespace zoo::models {

std::vector<ModelEntry> vae_model_entries() {
  const auto read = [](const Json& config) { return fields_from_json<VaeOptions>(config, "vae config"); };
  ModelEntry e;
  e.name = "vae";
  e.family = "vae";
  e.description = "the VAE of train_vae (MLP encoder and decoder, Gaussian or Gumbel-softmax latent), 1x28x28";
  e.default_config = fields_to_json(VaeOptions{});
  e.resolve = [read](const Json& config) { return fields_to_json(read(config)); };
  e.build = [read](const Json& config) -> std::shared_ptr<torch::nn::Module> { return Vae(read(config)).ptr(); };
  // Encoder and decoder: the reconstruction from the posterior's mode.
  e.forward = [](torch::nn::Module& module, const torch::Tensor& images) {
    auto* vae = dynamic_cast<VaeImpl*>(&module);
    if (!vae) throw Error("vae: the module is not a VAE", ErrorKind::runtime);
    return vae->reconstruct(images);
  };
  e.example_shape = [read](const Json& config) { return read(config).shape; };
  return {e};
}

}  // namespace zoo::models
