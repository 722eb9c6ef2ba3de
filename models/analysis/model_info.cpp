#include "models/analysis/model_info.h"

#include <c10/util/accumulate.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <optional>
#include <unordered_set>

#include "models/analysis/module_trace.h"

namespace zoo::models::analysis {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t numel(const std::vector<int64_t>& shape) { return c10::multiply_integers(shape); }

// What a traced operator is as a layer: its type, which input is its weight, and its
// multiply-adds per example (convolutions k_h·k_w·(C_in/groups)·C_out·H_out·W_out, linear
// layers and matrix products in·out per output row; normalisations and embeddings none).
struct LayerKind {
  std::string type;
  int weight = -1;  // input index of the weight, -1: none
  int64_t macs = 0;
};

// A parameter, or a parameter transposed (x·Wᵀ of a linear layer).
const Value* weight_operand(const Value* value) {
  const Node* producer = value->node();
  const std::string kind = producer->kind().toQualString();
  if (kind == "aten::t" || kind == "aten::transpose" || kind == "aten::permute" || kind == "aten::numpy_T")
    value = producer->input(0);
  return constant_tensor(value).defined() ? value : nullptr;
}

std::optional<LayerKind> layer_kind(const Node* node, int64_t batch) {
  const std::string kind = node->kind().toQualString();
  const auto shape = [&](size_t i) { return traced_shape(node->input(i)); };
  const std::vector<int64_t> out = traced_shape(node->output(0));
  const auto per_example = [&](const std::vector<int64_t>& s) { return numel(s) / std::max<int64_t>(1, batch); };
  const auto norm = [&](int weight, const std::string& type) { return LayerKind{type, weight, 0}; };
  if (kind == "aten::_convolution" || kind == "aten::convolution" || kind.rfind("aten::conv", 0) == 0) {
    const std::vector<int64_t> w = shape(1);
    if (w.size() < 3) return std::nullopt;
    bool transposed = kind.find("transpose") != std::string::npos;
    if (kind == "aten::_convolution" || kind == "aten::convolution")
      transposed = torch::jit::toIValue(node->input(6))->toBool();
    const int64_t per_output = w[1] * numel({w.begin() + 2, w.end()});
    // A transposed convolution spreads each input position over the kernel: its MACs count
    // the inputs, W being [C_in, C_out/groups, k...].
    const int64_t macs = (transposed ? per_example(shape(0)) : per_example(out)) * per_output;
    return LayerKind{std::string(transposed ? "ConvTranspose" : "Conv") + std::to_string(w.size() - 2) + "d", 1, macs};
  }
  if (kind == "aten::linear") return LayerKind{"Linear", 1, per_example(out) * shape(1).back()};
  // A linear layer may reach the trace as its parts: a product with its transposed weight
  // (then the bias added). With a weight among its operands a product is that layer.
  const bool product = kind == "aten::matmul" || kind == "aten::mm" || kind == "aten::bmm";
  const bool product_plus = kind == "aten::addmm" || kind == "aten::baddbmm";
  if (product || product_plus) {
    const size_t first = product_plus ? 1 : 0;
    for (size_t i = first; i < first + 2; ++i)
      if (weight_operand(node->input(i)))
        return LayerKind{"Linear", static_cast<int>(i), per_example(out) * shape(first).back()};
    return LayerKind{"MatMul", -1, per_example(out) * shape(first).back()};
  }
  if (kind == "aten::batch_norm")
    return norm(1, "BatchNorm" + std::to_string(std::max<size_t>(1, shape(0).size() - 2)) + "d");
  if (kind == "aten::group_norm") return norm(2, "GroupNorm");
  if (kind == "aten::layer_norm") return norm(2, "LayerNorm");
  if (kind == "aten::instance_norm") return norm(1, "InstanceNorm");
  if (kind == "aten::embedding") return norm(0, "Embedding");
  return std::nullopt;
}

// The weight a layer reads at input `index`, seen through a transpose.
const Value* weight_value(const Node* node, int index) {
  const Value* input = node->input(static_cast<size_t>(index));
  const Value* weight = weight_operand(input);
  return weight ? weight : input;
}

// The parameters a layer reads: among its inputs (weight, bias), through a transpose of
// its weight, and a bias added to its only output right after (x·Wᵀ + b).
std::vector<torch::Tensor> layer_tensors(const Node* node, int weight) {
  std::vector<torch::Tensor> tensors;
  for (const Value* input : node->inputs())
    if (torch::Tensor t = constant_tensor(input); t.defined()) tensors.push_back(t);
  if (weight >= 0 && !constant_tensor(node->input(static_cast<size_t>(weight))).defined())
    if (const Value* w = weight_operand(node->input(static_cast<size_t>(weight))))
      tensors.push_back(constant_tensor(w));
  const auto& uses = node->output(0)->uses();
  if (weight >= 0 && uses.size() == 1) {
    const Node* user = uses.front().user;
    const std::string kind = user->kind().toQualString();
    if (kind == "aten::add" || kind == "aten::add_")
      for (const Value* input : user->inputs())
        if (torch::Tensor t = constant_tensor(input); t.defined()) tensors.push_back(t);
  }
  return tensors;
}

// Names layers after the module they belong to, found through the parameters they read.
class LayerNamer {
 public:
  explicit LayerNamer(const ModuleTrace& trace) : names_(trace.tensor_names) {}

  // A layer with a named weight is its module ("features.0.0"); another is the nearest
  // module upstream of it plus its operation ("blocks.1.attention.matmul"), else the last
  // module named.
  std::string name(const Node* node, int weight, const std::string& type) {
    if (weight >= 0)
      if (const std::string* n = tensor_name(weight_value(node, weight))) {
        last_module_ = module_of(*n);
        return last_module_;
      }
    std::string lower = type;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string* upstream = nearest_upstream(node);
    const std::string module = upstream ? module_of(*upstream) : last_module_;
    return module.empty() ? lower : module + "." + lower;
  }

  const std::string* tensor_name(const Value* value) const {
    const torch::Tensor t = constant_tensor(value);
    if (!t.defined()) return nullptr;
    const auto it = names_.find(t.data_ptr());
    return it == names_.end() ? nullptr : &it->second;
  }

 private:
  static std::string module_of(const std::string& tensor) {
    const size_t dot = tensor.rfind('.');
    return dot == std::string::npos ? "" : tensor.substr(0, dot);
  }
  // Breadth first over the inputs, a few operations deep: a weight computed from parameters
  // (Glow's LU-factored 1x1 convolution) belongs to their module.
  const std::string* nearest_upstream(const Node* node) const {
    std::deque<std::pair<const Node*, int>> queue{{node, 0}};
    std::unordered_set<const Node*> seen{node};
    while (!queue.empty()) {
      const auto [n, depth] = queue.front();
      queue.pop_front();
      for (const Value* input : n->inputs()) {
        if (const std::string* found = tensor_name(input)) return found;
        if (depth < 4 && seen.insert(input->node()).second) queue.emplace_back(input->node(), depth + 1);
      }
    }
    return nullptr;
  }

  const std::unordered_map<const void*, std::string>& names_;
  std::string last_module_;
};

}  // namespace

ModelInfo model_info(torch::nn::Module& model, const ForwardFn& forward, const std::vector<int64_t>& input_shape) {
  const ModuleTrace trace = trace_module(model, forward, input_shape);
  std::unordered_set<const void*> parameters;
  ModelInfo info;
  info.input_shape = input_shape;
  for (const torch::Tensor& p : model.parameters()) {
    parameters.insert(p.data_ptr());
    info.total_params += p.numel();
  }
  LayerNamer namer(trace);
  // Work on parameters alone (a weight computed from its factors, as Glow's LU-factored 1x1
  // convolution does) is not a cost per example: it is left out.
  std::unordered_set<const Value*> prepared;
  for (const Node* node : trace.graph->nodes()) {
    bool reads_tensors = false, parameters_only = true;
    for (const Value* input : node->inputs()) {
      if (!input->type()->cast<c10::TensorType>()) continue;
      reads_tensors = true;
      parameters_only = parameters_only && (prepared.count(input) || constant_tensor(input).defined());
    }
    if (reads_tensors && parameters_only) {
      prepared.insert(node->outputs().begin(), node->outputs().end());
      continue;
    }
    const std::optional<LayerKind> kind = layer_kind(node, input_shape.empty() ? 1 : input_shape[0]);
    if (!kind) continue;
    LayerInfo layer;
    layer.type = kind->type;
    layer.name = namer.name(node, kind->weight, kind->type);
    layer.output_shape = traced_shape(node->output(0));
    layer.macs = kind->macs;
    for (const torch::Tensor& t : layer_tensors(node, kind->weight))
      if (parameters.count(t.data_ptr())) layer.params += t.numel();
    info.total_macs += layer.macs;
    info.layers.push_back(std::move(layer));
  }
  return info;
}

Json to_json(const ModelInfo& info) {
  Json layers = Json::array();
  for (const LayerInfo& l : info.layers)
    layers.push_back(
        {{"name", l.name}, {"type", l.type}, {"output_shape", l.output_shape}, {"params", l.params}, {"macs", l.macs}});
  return {{"input_shape", info.input_shape},
          {"layers", layers},
          {"total_params", info.total_params},
          {"total_macs", info.total_macs},
          {"gmacs", static_cast<double>(info.total_macs) / 1e9}};
}

std::string format_table(const ModelInfo& info) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-36s %-12s %-22s %12s %16s\n", "layer", "type", "output", "params", "MACs");
  out += line;
  for (const LayerInfo& l : info.layers) {
    std::snprintf(line, sizeof line, "%-36s %-12s %-22s %12lld %16lld\n", l.name.c_str(), l.type.c_str(),
                  shape_string(l.output_shape).c_str(), static_cast<long long>(l.params),
                  static_cast<long long>(l.macs));
    out += line;
  }
  std::snprintf(line, sizeof line, "input %s: %lld parameters (%.2fM), %lld multiply-adds (%.3fB)\n",
                shape_string(info.input_shape).c_str(), static_cast<long long>(info.total_params),
                static_cast<double>(info.total_params) / 1e6, static_cast<long long>(info.total_macs),
                static_cast<double>(info.total_macs) / 1e9);
  out += line;
  return out;
}

}  // namespace zoo::models::analysis
