#pragma once
// The image flows' entries in the model registry (models/registry.h): "realnvp" and
// "glow" as train_flow builds them (1x28x28 by default), for the analysis tools, which
// follow the forward pass from image to latent. NICE, a network of vectors, has none.
#include <vector>

#include "models/registry.h"

namespace zoo::models {

std::vector<ModelEntry> flow_model_entries();

}  // namespace zoo::models
