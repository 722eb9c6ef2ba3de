#pragma once
// Checkpoints of zoo models and training runs. A checkpoint named STEM is
//   STEM.safetensors            the model's state dict; metadata "zoo.model" holds the
//                               model's config as JSON (so the file describes the model that
//                               reads it), "zoo.step" the training step, and the names of
//                               the companion files it has:
//   STEM.STEP.train.pt          ("zoo.train_state") what a bit-exact --resume needs besides
//                               the weights: optimizer state, the global RNG state, the step
//                               and the partly filled logging interval
//   STEM.STEP.ema.safetensors   ("zoo.ema") the EMA of the weights
// A checkpoint commits as one unit: its companions, named after their step, are written
// first (each atomically), then STEM.safetensors is renamed into place, which is the
// commit; the previous step's companions are removed only after that. A kill at any
// instant therefore leaves the previous checkpoint or the new one, whole, never a mix.
#include <torch/torch.h>

#include <string>

#include "core/json.h"
#include "weights/safetensors.h"

namespace zoo::weights {

struct TrainState {
  int64_t step = 0;             // optimizer steps taken
  Json extra = Json::object();  // e.g. the best metric so far
  // The logging interval under way: a resumed run's next record averages the same steps as
  // the uninterrupted run's.
  double interval_loss_sum = 0;
  int64_t interval_steps = 0;
};

// The parts of a training checkpoint beside the weights; a model-only checkpoint has none.
struct TrainingParts {
  torch::optim::Optimizer* optimizer = nullptr;
  const NamedTensors* ema = nullptr;
};

void save_checkpoint(const std::string& stem, const torch::nn::Module& model, const Json& model_config,
                     const TrainState& state, const TrainingParts& parts = {});

// Restores weights (strictly), optimizer and RNG state from STEM.* for --resume; with `ema`,
// also the EMA the checkpoint was saved with (an error when it has none).
TrainState load_training_checkpoint(const std::string& stem, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer, NamedTensors* ema = nullptr);

// Removes the companions of STEM that its committed STEM.safetensors does not name: what a
// writer killed before or after its commit left behind.
void remove_uncommitted_parts(const std::string& stem);

struct ModelCheckpoint {
  std::string path;
  SafeTensors weights;
  Json model_config;  // null when the file carries none (e.g. converted from PyTorch)
  int64_t step = -1;
};

// --checkpoint FILE_OR_RUN_DIR: a .safetensors file, or a run directory (its
// checkpoints/best.safetensors when present, else last.safetensors). With prefer_ema, the
// weights come from the EMA saved with the chosen checkpoint when it has one (the model
// config and step still from STEM.safetensors): what samplers use by default.
ModelCheckpoint read_checkpoint(const std::string& file_or_run_dir, bool prefer_ema = false);
// The same for a checkpoint whose config names `model` ("flow", "diffusion"); anything
// else is an input error that says what the file holds instead.
ModelCheckpoint read_checkpoint_of(const std::string& model, const std::string& file_or_run_dir,
                                   bool prefer_ema = false);

}  // namespace zoo::weights
