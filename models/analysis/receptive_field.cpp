#include "models/analysis/receptive_field.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/error.h"
#include "models/nn/same_padding.h"

namespace zoo::models::analysis {

namespace {

constexpr double kTolerance = 1e-9;

std::string size_text(std::array<int64_t, 2> size) { return std::to_string(size[0]) + "x" + std::to_string(size[1]); }

// "Same" padding is decided by the input: the output is ceil(n/s) and the window's overhang
// is split with the smaller half before (TensorFlow's rule, torch's padding="same" at s = 1).
AxisWindow resolve_padding(const LayerNode& node, int a, int64_t n) {
  AxisWindow w = node.window[a];
  if (node.same_padding) {
    const int64_t total = same_padding_amount(n, w.kernel, w.stride, w.dilation);
    w.pad_before = total / 2;
    w.pad_after = total - w.pad_before;
  }
  return w;
}

// Output units of a window over n inputs, as PyTorch computes them; nullopt when none.
std::optional<int64_t> window_output(const AxisWindow& w, int64_t n, bool ceil_mode) {
  const int64_t span = n + w.pad_before + w.pad_after - w.effective_kernel();
  if (span < 0) return std::nullopt;
  int64_t out = (ceil_mode ? (span + w.stride - 1) / w.stride : span / w.stride) + 1;
  // A ceil-mode window must start inside the input or its leading padding.
  if (ceil_mode && (out - 1) * w.stride >= n + w.pad_before) --out;
  if (out < 1) return std::nullopt;
  return out;
}

// One axis of a single-input layer; nullopt when the layer has no output.
std::optional<AxisField> single_input_axis(const LayerNode& node, int a, const AxisField& in, AxisWindow& window) {
  AxisField out = in;
  switch (node.op) {
    case LayerOp::conv:
    case LayerOp::max_pool:
    case LayerOp::avg_pool:
    case LayerOp::pad: {
      window = resolve_padding(node, a, in.size);
      const auto size = window_output(window, in.size, node.ceil_mode);
      if (!size) return std::nullopt;
      const double k = static_cast<double>(window.effective_kernel());
      out.size = *size;
      out.field = in.field + (k - 1) * in.jump;
      out.start = in.start + ((k - 1) / 2 - static_cast<double>(window.pad_before)) * in.jump;
      out.jump = in.jump * static_cast<double>(window.stride);
      return out;
    }
    case LayerOp::adaptive_pool: {
      // Window i covers [floor(i·n/o), ceil((i+1)·n/o)): the widest sets the field and the
      // first one the centre; the jump is the mean step n/o.
      const int64_t n = in.size, o = node.output_size[a];
      if (o < 1) return std::nullopt;
      int64_t widest = 0;
      for (int64_t i = 0; i < o; ++i) widest = std::max(widest, ((i + 1) * n + o - 1) / o - i * n / o);
      const int64_t first = (n + o - 1) / o;
      window = AxisWindow{widest, n / o > 0 ? n / o : 1, 0, 0, 1};
      out.size = o;
      out.field = in.field + static_cast<double>(widest - 1) * in.jump;
      out.start = in.start + static_cast<double>(first - 1) / 2 * in.jump;
      out.jump = in.jump * static_cast<double>(n) / static_cast<double>(o);
      return out;
    }
    case LayerOp::upsample: {
      // Output unit u samples the input at (u + ½)/f − ½: nearest copies one unit, bilinear
      // mixes two neighbours.
      const double f = node.scale[a];
      out.size = static_cast<int64_t>(std::floor(static_cast<double>(in.size) * f));
      if (out.size < 1) return std::nullopt;
      out.field = in.field + (node.bilinear ? in.jump : 0.0);
      out.start = in.start + (0.5 / f - 0.5) * in.jump;
      out.jump = in.jump / f;
      return out;
    }
    default: return out;
  }
}

bool same(double a, double b) { return std::abs(a - b) <= kTolerance * std::max(1.0, std::abs(a)); }

char axis_name(int a) { return a == 0 ? 'h' : 'w'; }

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// Paths meeting at a sum or concatenation: broadcast inputs (global context) aside, they
// must have one size; the field is the largest of theirs and jump and centre come from
// that path.
void merge_inputs(const LayerNode& node, const std::vector<LayerField>& layers, LayerField& out) {
  for (int a = 0; a < 2; ++a) {
    int64_t size = 1;
    for (int i : node.inputs) size = std::max(size, layers[i].axis[a].size);
    std::optional<AxisField> widest;
    double field = 0;
    for (int i : node.inputs) {
      const LayerField& in = layers[i];
      const AxisField& f = in.axis[a];
      out.global_context = out.global_context || in.global_context;
      if (f.size != size) {
        if (f.size == 1 && node.op == LayerOp::merge) {
          out.global_context = true;  // broadcast over the map: not part of the local field
          continue;
        }
        throw Error("layer " + node.name + ": its inputs have " + std::to_string(f.size) + " and " +
                    std::to_string(size) + " units along " + axis_name(a) + " (" + in.name + " differs)");
      }
      field = std::max(field, f.field);
      if (!widest) {
        widest = f;
        continue;
      }
      if ((!same(f.jump, widest->jump) || !same(f.start, widest->start)) && out.misalignment.empty()) {
        out.aligned = false;
        out.misalignment = in.name + " has jump " + number(f.jump) + " and centre " + number(f.start) + " along " +
                           axis_name(a) + ", another path " + number(widest->jump) + " and " + number(widest->start);
      }
      if (f.field > widest->field) widest = f;
    }
    out.axis[a] = *widest;
    out.axis[a].field = field;
  }
}

// Sizes only, along one axis, for an input of n: false as soon as a layer has no output.
bool fits(const LayerGraph& graph, int a, int64_t n) {
  std::vector<AxisField> axis(graph.nodes.size());
  axis[0].size = n;
  for (size_t i = 1; i < graph.nodes.size(); ++i) {
    const LayerNode& node = graph.nodes[i];
    if (node.op == LayerOp::merge || node.op == LayerOp::concat) {
      for (int j : node.inputs) axis[i].size = std::max(axis[i].size, axis[j].size);
      continue;
    }
    AxisWindow window;
    const auto out = single_input_axis(node, a, axis[node.inputs.at(0)], window);
    if (!out) return false;
    axis[i] = *out;
  }
  return true;
}

int64_t minimum_along(const LayerGraph& graph, int a) {
  constexpr int64_t kLargest = 1 << 16;
  for (int64_t n = 1; n <= kLargest; ++n)
    if (fits(graph, a, n)) return n;
  throw Error("the network has no output for any input up to " + std::to_string(kLargest) + " pixels");
}

}  // namespace

bool ReceptiveFields::aligned() const {
  return std::all_of(layers.begin(), layers.end(), [](const LayerField& l) { return l.aligned; });
}

const LayerField& ReceptiveFields::largest() const {
  // Global pooling's field is the input's extent, not a feature map's: left out.
  auto area = [](const LayerField& l) {
    const bool global = l.op == LayerOp::adaptive_pool && l.axis[0].size == 1 && l.axis[1].size == 1;
    return global ? 0.0 : l.axis[0].field * l.axis[1].field;
  };
  return *std::max_element(layers.begin(), layers.begin() + last_map() + 1,
                           [&](const LayerField& a, const LayerField& b) { return area(a) < area(b); });
}

int ReceptiveFields::last_map() const {
  for (int i = static_cast<int>(layers.size()) - 1; i > 0; --i)
    if (layers[i].axis[0].size > 1 || layers[i].axis[1].size > 1) return i;
  return 0;
}

int ReceptiveFields::index(const std::string& layer) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == layer) return static_cast<int>(i);
  std::string known;
  for (const LayerField& l : layers) known += (known.empty() ? "" : ", ") + l.name;
  throw Error("no layer named " + layer + " (layers: " + known + ")", ErrorKind::usage);
}

ReceptiveFields receptive_fields(const LayerGraph& graph, std::array<int64_t, 2> input_size) {
  if (graph.nodes.empty() || graph.nodes[0].op != LayerOp::input) throw Error("a layer graph starts with its input");
  ReceptiveFields result;
  result.input_size = input_size;
  auto too_small = [&](const LayerNode& node) {
    return Error("input " + size_text(input_size) + " is smaller than the network's minimum " +
                 size_text(minimum_input_size(graph)) + ": layer " + node.name + " would have no output");
  };
  for (const LayerNode& node : graph.nodes) {
    LayerField out;
    out.name = node.name;
    out.op = node.op;
    out.window = node.window;
    if (node.op == LayerOp::input) {
      for (int a = 0; a < 2; ++a) out.axis[a].size = input_size[a];
      if (input_size[0] < 1 || input_size[1] < 1) throw too_small(node);
    } else if (node.op == LayerOp::merge || node.op == LayerOp::concat) {
      merge_inputs(node, result.layers, out);
    } else {
      const LayerField& in = result.layers.at(node.inputs.at(0));
      out.global_context = in.global_context;
      for (int a = 0; a < 2; ++a) {
        const auto axis = single_input_axis(node, a, in.axis[a], out.window[a]);
        if (!axis) throw too_small(node);
        out.axis[a] = *axis;
      }
      // Global pooling: each output unit has seen every input pixel.
      if (node.op == LayerOp::adaptive_pool && out.axis[0].size == 1 && out.axis[1].size == 1)
        out.global_context = true;
    }
    result.layers.push_back(std::move(out));
  }
  return result;
}

std::array<int64_t, 2> minimum_input_size(const LayerGraph& graph) {
  return {minimum_along(graph, 0), minimum_along(graph, 1)};
}

std::array<std::array<int64_t, 2>, 2> centre_unit_region(const LayerField& layer, std::array<int64_t, 2> input_size) {
  std::array<std::array<int64_t, 2>, 2> region{};
  for (int a = 0; a < 2; ++a) {
    const AxisField& f = layer.axis[a];
    const double centre = f.start + static_cast<double>((f.size - 1) / 2) * f.jump;
    // Pixel i is seen when its centre i + ½ lies within the field around the unit's centre.
    const auto first = static_cast<int64_t>(std::ceil(centre - (f.field - 1) / 2 - 0.5 - kTolerance));
    const auto last = static_cast<int64_t>(std::floor(centre + (f.field - 1) / 2 - 0.5 + kTolerance));
    region[a] = {std::max<int64_t>(first, 0), std::min<int64_t>(last, input_size[a] - 1)};
  }
  return region;
}

Json to_json(const ReceptiveFields& fields) {
  Json layers = Json::array();
  for (const LayerField& l : fields.layers) {
    Json axis = Json::object();
    auto pair = [&](auto get) { return Json::array({get(l.axis[0]), get(l.axis[1])}); };
    Json layer = {{"name", l.name},
                  {"op", op_name(l.op)},
                  {"output_size", pair([](const AxisField& f) { return f.size; })},
                  {"receptive_field", pair([](const AxisField& f) { return f.field; })},
                  {"jump", pair([](const AxisField& f) { return f.jump; })},
                  {"effective_padding", pair([](const AxisField& f) { return f.effective_padding(); })},
                  {"first_centre", pair([](const AxisField& f) { return f.start; })},
                  {"global_context", l.global_context},
                  {"aligned", l.aligned}};
    if (windowed(l.op) || l.op == LayerOp::adaptive_pool) {
      auto window = [&](auto get) { return Json::array({get(l.window[0]), get(l.window[1])}); };
      layer["kernel"] = window([](const AxisWindow& w) { return w.kernel; });
      layer["stride"] = window([](const AxisWindow& w) { return w.stride; });
      layer["padding"] = Json::array({Json::array({l.window[0].pad_before, l.window[0].pad_after}),
                                      Json::array({l.window[1].pad_before, l.window[1].pad_after})});
      layer["dilation"] = window([](const AxisWindow& w) { return w.dilation; });
    }
    if (!l.aligned) layer["misalignment"] = l.misalignment;
    layers.push_back(std::move(layer));
  }
  const LayerField& largest = fields.largest();
  return {{"input_size", fields.input_size},
          {"layers", std::move(layers)},
          {"largest", {{"layer", largest.name}, {"receptive_field", {largest.axis[0].field, largest.axis[1].field}}}},
          {"aligned", fields.aligned()}};
}

std::string format_table(const ReceptiveFields& fields) {
  // One value when both axes agree, "h×w" otherwise.
  auto both = [](auto get, const auto& pair) {
    const std::string h = number(static_cast<double>(get(pair[0]))), w = number(static_cast<double>(get(pair[1])));
    return h == w ? h : h + "x" + w;
  };
  std::string out;
  char line[640];
  std::snprintf(line, sizeof line, "%-34s %-13s %-7s %-6s %-7s %-4s %-9s %-9s %-6s %-8s %-8s %s\n", "layer", "op",
                "kernel", "stride", "pad", "dil", "output", "field", "jump", "eff.pad", "centre", "notes");
  out += line;
  for (const LayerField& l : fields.layers) {
    const bool has_window = windowed(l.op) || l.op == LayerOp::adaptive_pool;
    auto window = [&](auto get) { return has_window ? both(get, l.window) : std::string("-"); };
    const std::string pad = window([](const AxisWindow& w) { return w.pad_before; }) +
                            (has_window && (l.window[0].pad_after != l.window[0].pad_before ||
                                            l.window[1].pad_after != l.window[1].pad_before)
                                 ? "+" + both([](const AxisWindow& w) { return w.pad_after; }, l.window)
                                 : "");
    std::string notes = l.global_context ? "and the whole input through global pooling" : "";
    if (!l.aligned) notes += (notes.empty() ? "" : "; ") + std::string("MISALIGNED: ") + l.misalignment;
    std::snprintf(line, sizeof line, "%-34s %-13s %-7s %-6s %-7s %-4s %-9s %-9s %-6s %-8s %-8s %s\n", l.name.c_str(),
                  op_name(l.op), window([](const AxisWindow& w) { return w.kernel; }).c_str(),
                  window([](const AxisWindow& w) { return w.stride; }).c_str(), pad.c_str(),
                  window([](const AxisWindow& w) { return w.dilation; }).c_str(),
                  both([](const AxisField& f) { return f.size; }, l.axis).c_str(),
                  both([](const AxisField& f) { return f.field; }, l.axis).c_str(),
                  both([](const AxisField& f) { return f.jump; }, l.axis).c_str(),
                  both([](const AxisField& f) { return f.effective_padding(); }, l.axis).c_str(),
                  both([](const AxisField& f) { return f.start; }, l.axis).c_str(), notes.c_str());
    out += line;
  }
  const LayerField& largest = fields.largest();
  std::snprintf(line, sizeof line, "input %s: largest receptive field %s at %s; paths %s\n",
                size_text(fields.input_size).c_str(),
                both([](const AxisField& f) { return f.field; }, largest.axis).c_str(), largest.name.c_str(),
                fields.aligned() ? "aligned" : "MISALIGNED");
  out += line;
  return out;
}

}  // namespace zoo::models::analysis
