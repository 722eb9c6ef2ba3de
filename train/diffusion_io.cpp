#include "train/diffusion_io.h"

#include "core/error.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"

namespace zoo::train {

Json diffusion_checkpoint_config(const diffusion::DiffusionModel& model, const std::string& objective,
                                 const std::vector<std::string>& classes, const std::string& data) {
  return {{"model", "diffusion"},
          {"diffusion", model.config_json()},
          {"objective", objective},
          {"classes", classes},
          {"data", data}};
}

LoadedDiffusion load_diffusion(const std::string& checkpoint, bool ema) {
  weights::ModelCheckpoint file = weights::read_checkpoint_of("diffusion", checkpoint, ema);
  const Json& saved = file.model_config;
  LoadedDiffusion loaded;
  loaded.model.emplace(diffusion::diffusion_model_config_from_json(saved.at("diffusion")));
  weights::load_state_dict(*loaded.model->net(), file.weights.tensors, /*strict=*/true);
  // Checkpoints from before the objective was saved were all EDM's.
  loaded.objective = saved.value("objective", "edm");
  loaded.data = saved.value("data", "");
  if (saved.contains("classes")) loaded.classes = saved["classes"].get<std::vector<std::string>>();
  loaded.step = file.step;
  return loaded;
}

}  // namespace zoo::train
