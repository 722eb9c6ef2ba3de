#include "core/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/image.h"
#include "core/metrics_log.h"
#include "zoo/build_config.h"

#if ZOO_HAVE_OPENCV
#include <opencv2/imgproc.hpp>
#endif

namespace zoo {
namespace {

struct Color {
  uint8_t r, g, b;
};

// An RGB pixel buffer [H, W, 3] with the few drawing operations the plots need.
class Canvas {
 public:
  Canvas(int64_t width, int64_t height)
      : width_(width), height_(height), pixels_(torch::full({height, width, 3}, 255, torch::kByte)) {}

  void pixel(int64_t x, int64_t y, Color c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    uint8_t* p = pixels_.data_ptr<uint8_t>() + (y * width_ + x) * 3;
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }

  void line(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Color c) {  // Bresenham
    const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int64_t error = dx + dy;
    for (;;) {
      pixel(x0, y0, c);
      if (x0 == x1 && y0 == y1) break;
      const int64_t e2 = 2 * error;
      if (e2 >= dy) error += dy, x0 += sx;
      if (e2 <= dx) error += dx, y0 += sy;
    }
  }

  void text(const std::string& s, int64_t x, int64_t y, double scale = 0.4) {
#if ZOO_HAVE_OPENCV
    cv::Mat mat(static_cast<int>(height_), static_cast<int>(width_), CV_8UC3, pixels_.data_ptr<uint8_t>());
    cv::putText(mat, s, cv::Point(static_cast<int>(x), static_cast<int>(y)), cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(40, 40, 40), 1, cv::LINE_AA);
#else
    (void)s, (void)x, (void)y, (void)scale;  // no font without OpenCV: the plot keeps its lines
#endif
  }

  torch::Tensor image() const { return pixels_.permute({2, 0, 1}).to(torch::kFloat).div(255.0); }

 private:
  int64_t width_, height_;
  torch::Tensor pixels_;
};

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

}  // namespace

torch::Tensor scatter_plot(const torch::Tensor& points, const ScatterOptions& options) {
  if (points.dim() != 2 || points.size(1) != 2)
    throw Error("scatter_plot: expected points [N, 2], got " + c10::str(points.sizes()));
  const int64_t size = options.size, bins = std::max<int64_t>(1, options.size / options.cell);
  const auto& r = options.range;
  // A 2-D histogram on a log scale shows dense and sparse regions at once; cells of a few
  // pixels keep a few thousand points from looking like dust.
  torch::Tensor p = points.detach().to(torch::kCPU, torch::kDouble);
  torch::Tensor col = ((p.select(1, 0) - r.x_min) / (r.x_max - r.x_min) * bins).floor().to(torch::kLong);
  torch::Tensor row = ((r.y_max - p.select(1, 1)) / (r.y_max - r.y_min) * bins).floor().to(torch::kLong);
  torch::Tensor inside = (col >= 0) & (col < bins) & (row >= 0) & (row < bins);
  torch::Tensor counts = torch::zeros({bins * bins}, torch::kDouble);
  counts.index_add_(0, (row * bins + col).masked_select(inside),
                    torch::ones({inside.sum().item<int64_t>()}, torch::kDouble));
  torch::Tensor shade = torch::log1p(counts) / std::log1p(std::max(1.0, counts.max().item<double>()));
  shade = shade.view({1, 1, bins, bins});
  shade =
      torch::nn::functional::interpolate(
          shade,
          torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kNearest))
          .view({size, size});
  // White background to a deep blue for the densest cells.
  torch::Tensor rgb = torch::stack({1 - 0.9 * shade, 1 - 0.7 * shade, 1 - 0.3 * shade}).to(torch::kFloat);
  if (!options.title.empty()) {
    Canvas canvas(size, size);
    canvas.text(options.title, 8, 18, 0.5);
    rgb = torch::minimum(rgb, canvas.image());
  }
  return rgb;
}

torch::Tensor line_plot(const std::vector<Series>& series, const std::string& title, int64_t width, int64_t height) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x_min = std::min(x_min, s.x[i]), x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]), y_max = std::max(y_max, s.y[i]);
    }
  if (!(x_max > x_min)) x_max = x_min + 1;
  if (!(y_max > y_min)) y_max = y_min + 1;
  if (!std::isfinite(x_min) || !std::isfinite(y_min)) x_min = 0, x_max = 1, y_min = 0, y_max = 1;

  const int64_t left = 70, right = 20, top = 30, bottom = 40;
  const int64_t plot_w = width - left - right, plot_h = height - top - bottom;
  Canvas canvas(width, height);
  const Color axis{60, 60, 60};
  canvas.line(left, top, left, top + plot_h, axis);
  canvas.line(left, top + plot_h, left + plot_w, top + plot_h, axis);
  auto px = [&](double x) { return left + static_cast<int64_t>((x - x_min) / (x_max - x_min) * (plot_w - 1)); };
  auto py = [&](double y) {
    return top + plot_h - 1 - static_cast<int64_t>((y - y_min) / (y_max - y_min) * (plot_h - 1));
  };

  const Color palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189}};
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const Color c = palette[k % 5];
    for (size_t i = 1; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i]))
        canvas.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), c);
    canvas.text(s.label, left + plot_w - 160, top + 16 + 16 * static_cast<int64_t>(k));
    canvas.line(left + plot_w - 180, top + 12 + 16 * static_cast<int64_t>(k), left + plot_w - 165,
                top + 12 + 16 * static_cast<int64_t>(k), c);
  }
  canvas.text(title, left, 20, 0.5);
  canvas.text(number(y_max), 4, top + 10);
  canvas.text(number(y_min), 4, top + plot_h);
  canvas.text(number(x_min), left, top + plot_h + 18);
  canvas.text(number(x_max), left + plot_w - 50, top + plot_h + 18);
  return canvas.image();
}

std::string plot_metric(const std::string& metrics_path, const std::string& key, const std::string& out_path) {
  Series raw{{}, {}, key}, smooth{{}, {}, key + " (smoothed)"};
  double average = NAN;
  for (const Json& record : read_metrics(metrics_path)) {
    if (!record.contains(key) || !record[key].is_number() || !record.contains("step")) continue;
    const double x = record["step"].get<double>(), y = record[key].get<double>();
    // An exponential moving average, weighted towards the last ~20 records.
    average = std::isnan(average) ? y : 0.95 * average + 0.05 * y;
    raw.x.push_back(x), raw.y.push_back(y);
    smooth.x.push_back(x), smooth.y.push_back(average);
  }
  if (raw.x.empty()) throw Error(metrics_path + ": no records with '" + key + "' to plot");
  return save_image(out_path, line_plot({raw, smooth}, key + " by step"));
}

}  // namespace zoo
