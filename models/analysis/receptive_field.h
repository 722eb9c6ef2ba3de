#pragma once
// Receptive fields of a layer graph (layer_graph.h), per layer and per spatial axis, by the
// recurrence of Araujo et al. (Distill 2019) that google-research/receptive_field uses:
// from the input upward with jump j = 1, field r = 1 and first centre c = 0.5 (pixel i
// spans [i, i+1)), a window of effective kernel k' = δ(k − 1) + 1, stride s and leading
// padding p gives j' = j·s, r' = r + (k' − 1)·j, c' = c + ((k' − 1)/2 − p)·j.
//
// Where paths meet, the field is the largest of the inputs', and the paths are aligned
// when they agree on jump and centre; a misalignment is reported on the layer, never
// averaged away. A path through global pooling that is broadcast back over the map
// (squeeze-and-excitation) makes every unit see the whole input as well: such a layer is
// marked global_context, and its field stays the local one, the window its units see
// through convolutions and pooling (what "the receptive field of EfficientNet" means).
#include <array>
#include <string>
#include <vector>

#include "core/json.h"
#include "models/analysis/layer_graph.h"

namespace zoo::models::analysis {

struct AxisField {
  int64_t size = 0;    // units along the axis
  double field = 1;    // receptive field, input pixels
  double jump = 1;     // effective stride: input pixels between neighbouring units
  double start = 0.5;  // centre of the first unit, in input pixels
  // The padding an equivalent single window would need: Σ p_l ∏_{i<l} s_i on one path.
  double effective_padding() const { return (field - 1) / 2 - (start - 0.5); }
};

struct LayerField {
  std::string name;
  LayerOp op = LayerOp::input;
  std::array<AxisWindow, 2> window;  // padding resolved for "same" layers
  std::array<AxisField, 2> axis;     // height, width
  bool global_context = false;
  bool aligned = true;
  std::string misalignment;  // what the meeting paths disagree on
};

struct ReceptiveFields {
  std::array<int64_t, 2> input_size{0, 0};
  std::vector<LayerField> layers;  // the graph's nodes, in order

  bool aligned() const;               // every meeting point aligned
  const LayerField& largest() const;  // the feature map (up to last_map, global pooling aside) with the largest field
  int index(const std::string& layer) const;  // zoo::Error naming the known layers if absent
  // The last layer that is still a map (more than one unit along an axis): the one to
  // ask about when none is named.
  int last_map() const;
};

// zoo::Error(input) when the input is smaller than the network's minimum (naming both and
// the layer that would have no output) or a merge's inputs differ in size.
ReceptiveFields receptive_fields(const LayerGraph& graph, std::array<int64_t, 2> input_size);

// The smallest input, per axis, for which every layer has at least one output.
std::array<int64_t, 2> minimum_input_size(const LayerGraph& graph);

// The input pixels, per axis, the layer's centre unit ((size − 1)/2) sees by the analytic
// field, clipped to the input: first and last index.
std::array<std::array<int64_t, 2>, 2> centre_unit_region(const LayerField& layer, std::array<int64_t, 2> input_size);

Json to_json(const ReceptiveFields& fields);
std::string format_table(const ReceptiveFields& fields);

}  // namespace zoo::models::analysis
