#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/image.h"
#include "core/metrics_log.h"
#include "core/plot.h"
#include "support/test_support.h"
#include "zoo/build_config.h"

TEST(Image, GridPlacesEachImageInItsCell) {
  const torch::Tensor images = torch::arange(5, torch::kFloat).view({5, 1, 1, 1}).expand({5, 1, 3, 2}) / 10;
  zoo::GridOptions options;
  options.columns = 2;
  options.padding = 1;
  const torch::Tensor grid = zoo::make_grid(images, options);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{1, 3 * 4 + 1, 2 * 3 + 1}));
  // Image 3 sits in row 1, column 1: top = 1*(3+1)+1 = 5, left = 1*(2+1)+1 = 4.
  EXPECT_TRUE(torch::allclose(grid[0].slice(0, 5, 8).slice(1, 4, 6), torch::full({3, 2}, 0.3)));
  EXPECT_EQ(grid[0][0][0].item<float>(), 1.0f);  // padding
  EXPECT_THROW(zoo::make_grid(torch::zeros({3, 3})), zoo::Error);
}

TEST(Image, SavedImagesReadBackExactly) {
  zoo::test::TempDir dir;
  const torch::Tensor image = torch::randint(0, 256, {3, 9, 7}).to(torch::kFloat) / 255;
  const std::string written = zoo::save_image(dir.file("x.png"), image);
#if ZOO_HAVE_OPENCV
  EXPECT_EQ(written, dir.file("x.png"));
  EXPECT_TRUE(torch::allclose(zoo::load_image(written), image, 0, 1e-6));
  const torch::Tensor gray = torch::rand({1, 4, 5});
  const torch::Tensor back = zoo::load_image(zoo::save_image(dir.file("g.png"), gray), true);
  EXPECT_TRUE(torch::allclose(back, torch::round(gray * 255) / 255, 0, 1e-6));
  zoo::test::write_bytes(dir.file("broken.png"), "\x89PNG\r\n\x1a\n garbage");
  EXPECT_THROW(zoo::load_image(dir.file("broken.png")), zoo::Error);
#else
  EXPECT_EQ(written, dir.file("x.ppm"));
  const std::string bytes = zoo::test::read_bytes(written);
  EXPECT_EQ(bytes.substr(0, 11), "P6\n7 9\n255\n");
  EXPECT_EQ(bytes.size(), 11u + 3 * 9 * 7);
#endif
  EXPECT_THROW(zoo::save_image(dir.file("bad.png"), torch::zeros({2, 4, 4})), zoo::Error);
}

TEST(Plot, ScatterShadesWherePointsAre) {
  zoo::ScatterOptions options;
  options.size = 64;
  options.cell = 1;
  // All points in the upper-right quadrant.
  const torch::Tensor points = torch::rand({1000, 2}) * 3 + 0.5;
  const torch::Tensor image = zoo::scatter_plot(points, options);
  EXPECT_EQ(image.sizes(), (std::vector<int64_t>{3, 64, 64}));
  const torch::Tensor ink = 1 - image[0];
  EXPECT_GT(ink.slice(0, 0, 32).slice(1, 32, 64).sum().item<double>(), 10);
  EXPECT_EQ(ink.slice(0, 32, 64).sum().item<double>(), 0);  // lower half untouched
  EXPECT_EQ(ink.slice(1, 0, 32).sum().item<double>(), 0);   // left half untouched
}

TEST(Plot, LossCurveFromMetrics) {
  zoo::test::TempDir dir;
  {
    zoo::MetricsLog log(dir.file("metrics.jsonl"));
    for (int step = 1; step <= 50; ++step) log.write({{"step", step}, {"loss", 1.0 / step}});
  }
  const std::string written = zoo::plot_metric(dir.file("metrics.jsonl"), "loss", dir.file("loss.png"));
  EXPECT_TRUE(std::filesystem::file_size(written) > 100);
  EXPECT_THROW(zoo::plot_metric(dir.file("metrics.jsonl"), "accuracy", dir.file("acc.png")), zoo::Error);
  // A falling line crosses the middle of the plot area (x 70..180, y 30..60) and leaves
  // its top-right corner empty.
  const torch::Tensor plot = zoo::line_plot({{{0, 1}, {1, 0}, "down"}}, "", 200, 100);
  const torch::Tensor ink = (std::get<0>(plot.min(0)) < 0.9).to(torch::kFloat);
  EXPECT_GT(ink.slice(0, 40, 50).slice(1, 120, 130).sum().item<double>(), 0);
  EXPECT_EQ(ink.slice(0, 30, 40).slice(1, 150, 180).sum().item<double>(), 0);
}
