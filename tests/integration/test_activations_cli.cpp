// activations end to end: the names, and a picture with one panel per function.
#include <gtest/gtest.h>

#include "core/image.h"
#include "support/test_support.h"

using zoo::test::run_zoo;
using zoo::test::TempDir;

TEST(ActivationsCli, ListsNamesAndPlotsEveryFunction) {
  const auto listed = run_zoo("activations", "");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_EQ(listed.output,
            "identity\nstep\nsigmoid\ntanh\nrelu\nleaky_relu\nprelu\nelu\nselu\ngelu\ngelu_tanh\nsilu\nswish\nmish\n"
            "hard_sigmoid\nhard_swish\nsoftplus\n");
  TempDir dir;
  const auto plotted = run_zoo("activations", "--plot " + dir.file("a.png"));
  ASSERT_EQ(plotted.exit_code, 0) << plotted.output;
  const torch::Tensor image = zoo::load_image(dir.file("a.png"));
  // 17 panels of 320×220 in 4 columns (5 rows), 4-pixel gaps.
  EXPECT_EQ(image.sizes(), torch::IntArrayRef({3, 4 + 5 * 224, 4 + 4 * 324}));
  zoo::test::expect_clean_error("activations", "--plot", "plot");
}
