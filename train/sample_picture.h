#pragma once
// Generated samples as a picture, the same for every generative model: a grid for images
// [N, C, H, W] in [0, 1], a density scatter over [−4, 4]² for 2-D points [N, 2].
#include <torch/torch.h>

#include <string>

namespace zoo::train {

// Returns the path written (see save_image for builds without OpenCV).
std::string save_samples_picture(const std::string& path, const torch::Tensor& samples, const std::string& title = "");

}  // namespace zoo::train
