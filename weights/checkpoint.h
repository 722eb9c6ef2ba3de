#pragma once
// Checkpoints of zoo models and training runs.
//   STEM.safetensors   the model's state dict; metadata "zoo.model" holds the model's
//                      config as JSON (so the file describes the model that reads it) and
//                      "zoo.step" the training step
//   STEM.train.pt      what a bit-exact --resume needs besides the weights: optimizer
//                      state, the global RNG state, step and epoch position
// The training state is written first and the weights last, each atomically; the steps
// recorded in both must agree when resuming.
#include <torch/torch.h>

#include <string>

#include "core/cli.h"
#include "weights/safetensors.h"

namespace zoo::weights {

struct TrainState {
  int64_t step = 0;  // optimizer steps taken
  Json extra = Json::object();  // e.g. the best metric so far
};

void save_checkpoint(const std::string& stem, const torch::nn::Module& model, const Json& model_config,
                     const TrainState& state, torch::optim::Optimizer* optimizer = nullptr);

// Restores weights (strictly), optimizer and RNG state from STEM.* for --resume.
TrainState load_training_checkpoint(const std::string& stem, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer);

struct ModelCheckpoint {
  std::string path;
  SafeTensors weights;
  Json model_config;  // null when the file carries none (e.g. converted from PyTorch)
  int64_t step = -1;
};

// --checkpoint FILE_OR_RUN_DIR: a .safetensors file, or a run directory (its
// checkpoints/best.safetensors when present, else last.safetensors). With prefer_ema, the
// weights come from STEM.ema.safetensors beside the chosen file when it exists (the model
// config and step still from STEM.safetensors): what samplers use by default.
ModelCheckpoint read_checkpoint(const std::string& file_or_run_dir, bool prefer_ema = false);
// The same for a checkpoint whose config names `model` ("flow", "diffusion"); anything
// else is an input error that says what the file holds instead.
ModelCheckpoint read_checkpoint_of(const std::string& model, const std::string& file_or_run_dir, bool prefer_ema = false);

}  // namespace zoo::weights
