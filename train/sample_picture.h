#pragma once
// Generated samples as a picture, the same for every generative model: a grid for images
// [N, C, H, W] in [0, 1], a density scatter over [−4, 4]² for 2-D points [N, 2].
#include <torch/torch.h>

#include <string>

#include "core/run_dir.h"

namespace zoo::train {

// How many samples a periodic picture draws: those asked for, else 64 images or, for 2-D
// points (a scatter and its distance to the test split), 4,000.
inline int64_t samples_per_picture(int64_t requested, bool points) {
  return requested > 0 ? requested : points ? 4000 : 64;
}

// The path of a picture a run makes at a step: samples/WHAT_00001234.png.
std::string step_picture_path(const RunDir& run, const std::string& what, int64_t step);

// Returns the path written (see save_image for builds without OpenCV).
std::string save_samples_picture(const std::string& path, const torch::Tensor& samples, const std::string& title = "");

}  // namespace zoo::train
