#pragma once
// Generated samples as a picture, the same for every generative model: a grid for images
// [N, C, H, W] in [0, 1], a density scatter over [−4, 4]² for 2-D points [N, 2].
#include <torch/torch.h>

#include <string>

#include "core/run_dir.h"

namespace zoo::train {

// The path of a picture a run makes at a step: samples/WHAT_00001234.png.
std::string step_picture_path(const RunDir& run, const std::string& what, int64_t step);

// Returns the path written (see save_image for builds without OpenCV).
std::string save_samples_picture(const std::string& path, const torch::Tensor& samples, const std::string& title = "");

}  // namespace zoo::train
