#pragma once
#include <vector>

#include "models/registry.h"

namespace zoo::models {

std::vector<ModelEntry> vae_model_entries();

}  // namespace zoo::models
