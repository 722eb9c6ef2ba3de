#pragma once
// The diffusion family's entry in the model registry (models/registry.h): "unet", the
// denoising U-Net of train_diffusion, for the analysis tools (model_info, receptive_field),
// which see its encoder.
#include <vector>

#include "models/registry.h"

namespace zoo::models {

std::vector<ModelEntry> diffusion_model_entries();

}  // namespace zoo::models
