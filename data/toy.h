#pragma once
// The two-dimensional toy distributions of FFJORD (Grathwohl et al. 2019) and most papers
// on normalizing flows, as FFJORD's toy_data.py draws them (formulas in REFERENCE.md):
//
//   moons         sklearn's two moons (noise 0.1), times 2, shifted by (-1, -0.2)
//   8gaussians    N(c, 0.5^2 I) around 8 centres 4(cos kπ/4, sin kπ/4), divided by 1.414
//   checkerboard  uniform on the 8 "black" 2x2 squares of a 4x4 board on [-4, 4)^2
//   2spirals      two interleaved spirals, 1.5 turns each, noise 0.1
//   pinwheel      5 curled arms: (1 + N(0, 0.3^2), N(0, 0.1^2)) rotated by
//                 2πk/5 + 0.25 e^r (clockwise, as FFJORD's row-vector product does), times 2
//   circles       sklearn's two circles (radii 1 and 0.5, noise 0.08), times 3
//   swissroll     sklearn's swiss roll (noise 1) seen along its axis, divided by 5
//
// Where FFJORD puts exactly half the points on each part (moons, circles, 2spirals), even
// indices take the first part and odd ones the second.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace zoo::data {

// The names above, in that order.
const std::vector<std::string>& toy_names();

// n points as float32 [n, 2], computed in double from a std::mt19937_64 seeded with
// `seed`: the same (name, n, seed) gives the same points on every run, and a longer sample
// starts with the points of a shorter one. Unknown names throw a zoo::Error listing the
// known ones; more than kMaxToyPoints (core/limits.h) points is a zoo::Error too.
torch::Tensor sample_toy(const std::string& name, int64_t n, uint64_t seed);

// An unlabelled TensorDataset "toy:NAME" of points [2]. The train split is drawn with
// seed 0 and the test split with seed 1, so both are fixed and differ from each other.
DatasetPtr load_toy(const std::string& name, Split split, int64_t train_size = 20000, int64_t test_size = 5000);

}  // namespace zoo::data
