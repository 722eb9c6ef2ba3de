#pragma once
// Pictures out of tensors: grids of samples and image files. PNG through OpenCV; a build
// without OpenCV writes binary PGM/PPM instead (the path's extension says which).
#include <torch/torch.h>

#include <string>

namespace zoo {

struct GridOptions {
  int64_t columns = 8;
  int64_t padding = 2;
  float pad_value = 1.0f;  // white gaps read better than black between dark samples
};

// Tiles images [N, C, H, W] with values in [0, 1] into one image [C, H', W'].
torch::Tensor make_grid(const torch::Tensor& images, const GridOptions& options = {});

// Writes an image [C, H, W] (C = 1 or 3, values in [0, 1], clamped) atomically.
// Returns the path written: `path`, or with .pgm/.ppm in place of .png without OpenCV.
std::string save_image(const std::string& path, const torch::Tensor& image);

// Reads an image file into [C, H, W] float in [0, 1] (C = 3, or 1 when grayscale = true).
// Any failure is a zoo::Error naming the file, and nothing is printed: PNGs are verified
// before decoding (core/png_check.h), and images over kMaxImagePixels (core/limits.h) are
// refused (PNGs from their header, before decoding; other formats are capped by OpenCV).
torch::Tensor load_image(const std::string& path, bool grayscale = false);

}  // namespace zoo
