#include "train/sample_picture.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/image.h"
#include "core/plot.h"

namespace zoo::train {

std::string step_picture_path(const RunDir& run, const std::string& what, int64_t step) {
  char number[32];
  std::snprintf(number, sizeof number, "_%08lld.png", static_cast<long long>(step));
  return run.sample_path(what + number);
}

std::string save_samples_picture(const std::string& path, const torch::Tensor& samples, const std::string& title) {
  if (samples.dim() == 4) {
    GridOptions grid;
    grid.columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(samples.size(0)))));
    return save_image(path, make_grid(samples, grid));
  }
  if (samples.dim() == 2 && samples.size(1) == 2) {
    ScatterOptions scatter;
    scatter.title = title;
    return save_image(path, scatter_plot(samples, scatter));
  }
  throw Error("no picture for samples of shape " + c10::str(samples.sizes()) + " (images or 2-D points only)");
}

}  // namespace zoo::train
