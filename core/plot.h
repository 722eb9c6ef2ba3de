#pragma once
// Small plots drawn without a plotting library: loss curves and 2-D scatter plots of
// points (toy data, flow and diffusion samples). Axes carry their numeric ranges as text
// when OpenCV is present; the lines and points are drawn by our own code either way.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace zoo {

struct PlotRange {
  double x_min, x_max, y_min, y_max;
};

struct ScatterOptions {
  int64_t size = 512;
  int64_t cell = 4;  // pixels per histogram cell
  PlotRange range{-4, 4, -4, 4};
  std::string title;
};

// Points [N, 2] as a square RGB image [3, size, size] in [0, 1]: a density-shaded scatter.
torch::Tensor scatter_plot(const torch::Tensor& points, const ScatterOptions& options = {});

struct Series {
  std::vector<double> x, y;
  std::string label;
};

// Line plot of one or more series (axes fitted to the data) as an RGB image [3, H, W].
torch::Tensor line_plot(const std::vector<Series>& series, const std::string& title, int64_t width = 640,
                        int64_t height = 400);

// loss.png of a run: every numeric `key` in metrics.jsonl against "step", raw and smoothed.
// Returns the path written (see save_image).
std::string plot_metric(const std::string& metrics_path, const std::string& key, const std::string& out_path);

}  // namespace zoo
