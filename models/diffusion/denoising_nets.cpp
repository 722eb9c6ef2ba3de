#include "models/diffusion/denoising_nets.h"

#include "core/json_fields.h"
#include "models/diffusion/mlp_net.h"
#include "models/diffusion/unet.h"

namespace zoo::diffusion {

namespace {

// A network whose options struct reads and writes through json_fields.
template <class Net, class Options>
DenoisingNetKind kind(std::string description, const char* what,
                      std::vector<int64_t> (*example_shape)(const Options&)) {
  const auto read = [what](const Json& config) { return fields_from_json<Options>(config, what); };
  return {std::move(description), [read](const Json& config) { return fields_to_json(read(config)); },
          [read](const Json& config) -> std::shared_ptr<DenoisingNetImpl> { return Net(read(config)).ptr(); },
          [read, example_shape](const Json& config) { return example_shape(read(config)); }};
}

std::vector<int64_t> mlp_example(const MlpNetOptions& o) { return {o.features}; }
std::vector<int64_t> unet_example(const UNetOptions& o) { return {o.in_channels, o.resolution, o.resolution}; }

}  // namespace

const Catalogue<DenoisingNetKind>& denoising_nets() {
  static const Catalogue<DenoisingNetKind> nets(
      "network",
      {{"mlp", kind<MlpNet, MlpNetOptions>("the residual MLP denoiser for vectors (2-D toy data by default)",
                                           "mlp config", mlp_example)},
       {"unet", kind<UNet, UNetOptions>("the denoising U-Net (DDPM++/ADM style) for images, 1x28x28 by default",
                                        "unet config", unet_example)}});
  return nets;
}

}  // namespace zoo::diffusion
