#include "models/nn/eval_mode.h"

#include <torch/csrc/jit/frontend/tracer.h>

namespace zoo::models {

bool is_inference_pass(const torch::nn::Module& module) {
  return !module.is_training() && !torch::GradMode::is_enabled() && !torch::jit::tracer::isTracing();
}

}  // namespace zoo::models
