#pragma once
// EfficientNet's entries in the model registry (models/registry.h): efficientnet_b0…b7,
// efficientnet_v2_s/m/l, and efficientnet_phi (compound scaling from a "phi" key).
#include <vector>

#include "models/registry.h"

namespace zoo::models {

std::vector<ModelEntry> efficientnet_model_entries();

}  // namespace zoo::models
