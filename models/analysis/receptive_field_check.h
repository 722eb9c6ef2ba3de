#pragma once
// The empirical receptive field: back-propagate from one unit to the input and see which
// pixels receive gradient. The network is the layer graph's surrogate in float64 with one
// channel, every weight positive (averaging kernels), pooling as averaging and nothing
// nonlinear, so no path can cancel another and a pixel gets gradient exactly when some
// path reaches it. LibTorch's own convolution, pooling and interpolation run the windows,
// so the check is independent of the recurrence in receptive_field.h.
#include <array>

#include "models/analysis/layer_graph.h"

namespace zoo::models::analysis {

// First and last input index, per axis, with non-zero gradient from the centre unit
// ((size − 1)/2 along each axis) of layer `layer`; compare with centre_unit_region().
// Without global context, maps broadcast back from global pooling are left out of the
// sums, so the region is the local field; with it, such a layer sees the whole input.
std::array<std::array<int64_t, 2>, 2> empirical_region(const LayerGraph& graph, std::array<int64_t, 2> input_size,
                                                       int layer, bool global_context = false);

}  // namespace zoo::models::analysis
