#pragma once
// The denoising networks by name (train_diffusion's --net, a checkpoint's "net"): each
// resolves its config (every default spelled out, checked), builds itself from it, and
// knows the shape of one example it takes.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/catalogue.h"
#include "core/json.h"
#include "models/diffusion/denoising_net.h"

namespace zoo::diffusion {

struct DenoisingNetKind {
  std::string description;
  std::function<Json(const Json& config)> resolve;
  std::function<std::shared_ptr<DenoisingNetImpl>(const Json& config)> build;  // from a resolved config
  std::function<std::vector<int64_t>(const Json& config)> example_shape;       // [C, H, W] or [D]
};

const Catalogue<DenoisingNetKind>& denoising_nets();  // mlp, unet

}  // namespace zoo::diffusion
