#include "models/analysis/layer_spec.h"

#include <array>

#include "core/error.h"
#include "core/json_fields.h"

namespace zoo::models::analysis {

namespace {

// A number for both axes or [h, w], each read by `read` (json_int or json_real).
template <class Read>
auto axes_of(const Json& value, const std::string& what, Read read) {
  using T = decltype(read(value, what));
  if (!value.is_array()) {
    const T v = read(value, what);
    return std::array<T, 2>{v, v};
  }
  if (value.size() != 2) throw Error(what + ": expected a number or [height, width]");
  return std::array<T, 2>{read(value[0], what), read(value[1], what)};
}

std::array<int64_t, 2> pair_of(const Json& value, const std::string& what) { return axes_of(value, what, json_int); }

void read_padding(const Json& value, const std::string& what, LayerNode& node) {
  if (value.is_string()) {
    if (value == "same")
      node.same_padding = true;
    else if (value != "valid")
      throw Error(what + ": expected a number, [h, w], [[top, bottom], [left, right]], valid or same");
    return;
  }
  if (value.is_array() && value.size() == 2 && value[0].is_array()) {
    for (int a = 0; a < 2; ++a) {
      const auto p = pair_of(value[a], what);
      node.window[a].pad_before = p[0];
      node.window[a].pad_after = p[1];
    }
    return;
  }
  const auto p = pair_of(value, what);
  for (int a = 0; a < 2; ++a) node.window[a].pad_before = node.window[a].pad_after = p[a];
}

LayerOp op_of(const std::string& type, const std::string& where) {
  if (type == "conv") return LayerOp::conv;
  if (type == "max_pool") return LayerOp::max_pool;
  if (type == "avg_pool") return LayerOp::avg_pool;
  if (type == "adaptive_pool") return LayerOp::adaptive_pool;
  if (type == "upsample") return LayerOp::upsample;
  if (type == "pad") return LayerOp::pad;
  if (type == "add" || type == "mul") return LayerOp::merge;
  if (type == "concat") return LayerOp::concat;
  throw Error(where + ": unknown type " + type +
              " (expected conv, max_pool, avg_pool, pad, adaptive_pool, upsample, add, mul or concat)");
}

LayerNode read_layer(const Json& layer, size_t position, const LayerGraph& graph) {
  const std::string at = "layer spec: layer " + std::to_string(position);
  if (!layer.is_object()) throw Error(at + ": expected an object");
  if (!layer.contains("type")) throw Error(at + ": missing field type");
  std::string type;
  read_json_value(layer["type"], at + ": type", type);
  LayerNode node;
  node.op = op_of(type, at);
  node.name = type + std::to_string(position);
  if (layer.contains("name")) read_json_value(layer["name"], at + ": name", node.name);
  const std::string where = "layer spec: layer " + node.name;

  const bool has_window = windowed(node.op);
  std::set<std::string> known = {"name", "type", "inputs"};
  if (node.op == LayerOp::pad)
    known.insert("padding");
  else if (has_window)
    known.insert({"kernel", "stride", "padding", "dilation", "ceil_mode"});
  if (node.op == LayerOp::adaptive_pool) known.insert("output_size");
  if (node.op == LayerOp::upsample) known.insert({"scale", "mode"});
  check_keys(layer, known, where);

  if (layer.contains("inputs")) {
    std::vector<std::string> names;
    if (!layer["inputs"].is_array()) throw Error(where + ": inputs must be a list of layer names");
    for (const Json& n : layer["inputs"]) {
      std::string name;
      read_json_value(n, where + ": inputs", name);
      const int index = graph.find(name);
      if (index < 0) throw Error(where + ": input " + name + " is not an earlier layer");
      node.inputs.push_back(index);
    }
  } else {
    node.inputs = {static_cast<int>(graph.nodes.size()) - 1};
  }
  const bool merging = node.op == LayerOp::merge || node.op == LayerOp::concat;
  if (merging && node.inputs.size() < 2) throw Error(where + ": " + type + " needs at least two inputs");
  if (!merging && node.inputs.size() != 1) throw Error(where + ": " + type + " takes one input");

  auto required = [&](const char* key) -> const Json& {
    if (!layer.contains(key)) throw Error(where + ": missing field " + key);
    return layer[key];
  };
  if (has_window) {
    const auto kernel =
        node.op == LayerOp::pad ? std::array<int64_t, 2>{1, 1} : pair_of(required("kernel"), where + ": kernel");
    const bool pooling = node.op == LayerOp::max_pool || node.op == LayerOp::avg_pool;
    const auto stride = layer.contains("stride") ? pair_of(layer["stride"], where + ": stride")
                        : pooling                ? kernel
                                                 : std::array<int64_t, 2>{1, 1};
    const auto dilation =
        layer.contains("dilation") ? pair_of(layer["dilation"], where + ": dilation") : std::array<int64_t, 2>{1, 1};
    for (int a = 0; a < 2; ++a) {
      node.window[a].kernel = kernel[a];
      node.window[a].stride = stride[a];
      node.window[a].dilation = dilation[a];
      if (kernel[a] < 1 || stride[a] < 1 || dilation[a] < 1)
        throw Error(where + ": kernel, stride and dilation must be positive");
    }
    if (layer.contains("padding")) read_padding(layer["padding"], where + ": padding", node);
    for (const AxisWindow& w : node.window)
      if (w.pad_before < 0 || w.pad_after < 0) throw Error(where + ": padding must not be negative");
    if (layer.contains("ceil_mode")) read_json_value(layer["ceil_mode"], where + ": ceil_mode", node.ceil_mode);
  }
  if (node.op == LayerOp::adaptive_pool) {
    node.output_size = pair_of(required("output_size"), where + ": output_size");
    if (node.output_size[0] < 1 || node.output_size[1] < 1) throw Error(where + ": output_size must be positive");
  }
  if (node.op == LayerOp::upsample) {
    node.scale = axes_of(required("scale"), where + ": scale", json_real);
    if (!(node.scale[0] > 0 && node.scale[1] > 0)) throw Error(where + ": scale must be positive");
    std::string mode = "nearest";
    if (layer.contains("mode")) read_json_value(layer["mode"], where + ": mode", mode);
    if (mode != "nearest" && mode != "bilinear") throw Error(where + ": mode must be nearest or bilinear");
    node.bilinear = mode == "bilinear";
  }
  return node;
}

}  // namespace

LayerGraph layer_graph_from_spec(const Json& spec) {
  const Json* layers = &spec;
  if (spec.is_object()) {
    check_keys(spec, {"layers"}, "layer spec");
    if (!spec.contains("layers")) throw Error("layer spec: missing field layers");
    layers = &spec["layers"];
  }
  if (!layers->is_array() || layers->empty()) throw Error("layer spec: layers must be a non-empty list");
  LayerGraph graph;
  LayerNode input;
  input.name = "input";
  graph.add(std::move(input));
  for (size_t i = 0; i < layers->size(); ++i) {
    LayerNode node = read_layer((*layers)[i], i, graph);
    if (graph.find(node.name) >= 0) throw Error("layer spec: two layers are named " + node.name);
    graph.add(std::move(node));
  }
  return graph;
}

LayerGraph read_layer_spec(const std::string& path) {
  const Json spec = load_json_file(path);
  try {
    return layer_graph_from_spec(spec);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what(), e.kind());
  }
}

}  // namespace zoo::models::analysis
