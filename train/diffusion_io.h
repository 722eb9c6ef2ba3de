#pragma once
// What train_diffusion writes and sample_diffusion / evaluate_samples read: a diffusion
// model's checkpoint config.
//
// A diffusion checkpoint's "zoo.model" metadata is
//   {"model": "diffusion", "diffusion": <DiffusionModelConfig>, "objective": "edm",
//    "classes": [...], "data": "<spec>"}
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "models/diffusion/diffusion_model.h"

namespace zoo::train {

Json diffusion_checkpoint_config(const diffusion::DiffusionModel& model, const std::string& objective,
                                 const std::vector<std::string>& classes, const std::string& data);

struct LoadedDiffusion {
  std::optional<diffusion::DiffusionModel> model;
  std::string objective;  // edm, vp, ve or rf
  std::string data;
  std::vector<std::string> classes;
  int64_t step = -1;
};

// --checkpoint RUN_OR_FILE of a diffusion model, with the EMA weights when `ema` and they
// exist. A checkpoint of another kind of model is an input error that says what it holds.
LoadedDiffusion load_diffusion(const std::string& checkpoint, bool ema = true);

}  // namespace zoo::train
