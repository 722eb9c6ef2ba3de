#include "models/analysis/jit_layer_graph.h"

#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "models/analysis/module_trace.h"
#include "weights/torchscript.h"

namespace zoo::models::analysis {

namespace {

using c10::IValue;
using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

// Operators that act on each position by itself (or normalise with statistics, which are
// not counted as seeing): the map passes through unchanged.
// clang-format off
const std::set<std::string> kPerPosition = {
    "aten::relu",       "aten::relu6",          "aten::silu",        "aten::sigmoid",     "aten::tanh",
    "aten::gelu",       "aten::hardtanh",       "aten::hardswish",   "aten::hardsigmoid", "aten::leaky_relu",
    "aten::elu",        "aten::selu",           "aten::celu",        "aten::mish",        "aten::softplus",
    "aten::prelu",      "aten::batch_norm",     "aten::group_norm",  "aten::instance_norm", "aten::dropout",
    "aten::feature_dropout", "aten::alpha_dropout", "aten::feature_alpha_dropout", "aten::contiguous",
    "aten::clone",      "aten::detach",         "aten::exp",         "aten::log",         "aten::neg",
    "aten::abs",        "aten::sqrt",           "aten::rsqrt",       "aten::clamp",       "aten::clamp_min",
    "aten::clamp_max",  "aten::to",          "aten::square",      "aten::reciprocal",
    "aten::sign",       "aten::erf",            "aten::type_as",     "aten::log1p",       "aten::expm1",
    "aten::log_sigmoid", "aten::logit",         "aten::softsign",    "aten::round",       "aten::floor",
    "aten::ceil",       "aten::sin",            "aten::cos",         "aten::tanhshrink",  "aten::threshold"};
// clang-format on
// Arithmetic: a meeting point when two maps meet, per position with a constant or scalar.
const std::set<std::string> kElementwise = {"aten::add",     "aten::sub",     "aten::rsub",    "aten::mul",
                                            "aten::div",     "aten::maximum", "aten::minimum", "aten::addcmul",
                                            "aten::addcdiv", "aten::lerp",    "aten::where",   "aten::pow"};
// Operators on a map that has already become a vector (after flatten or global pooling).
const std::set<std::string> kOnVectors = {"aten::linear",      "aten::addmm",   "aten::matmul",    "aten::softmax",
                                          "aten::log_softmax", "aten::squeeze", "aten::unsqueeze", "aten::t"};
// Slicing and splitting: per position along the batch and channel dimensions.
const std::set<std::string> kSlicing = {
    "aten::chunk",  "aten::unsafe_chunk", "aten::split", "aten::unsafe_split", "aten::split_with_sizes",
    "aten::unbind", "aten::narrow",       "aten::slice", "aten::select",       "aten::index_select"};
// Questions about a tensor's shape, not its values: their answers carry no map.
const std::set<std::string> kShapeQueries = {"aten::size",   "aten::dim",   "aten::len",    "aten::numel",
                                             "prim::device", "prim::dtype", "prim::layout", "aten::is_floating_point"};
const std::set<std::string> kIgnored = {"prim::RaiseException", "prim::Uninitialized", "aten::warn", "prim::Print"};

// "aten::relu_" (in place) is "aten::relu" here; "aten::__and__" keeps its underscores.
std::string op_kind(Node* node) {
  std::string kind = node->kind().toQualString();
  if (kind.size() > 2 && kind.back() == '_' && kind[kind.size() - 2] != '_') kind.pop_back();
  return kind;
}

std::string short_name(const std::string& kind) { return kind.substr(kind.find("::") + 2); }

// The argument of an operator by its schema name; nullptr when the overload has none.
Value* argument(Node* node, const char* name) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (!schema) return nullptr;
  const auto& arguments = schema->arguments();
  for (size_t i = 0; i < arguments.size() && i < node->inputs().size(); ++i)
    if (arguments[i].name() == name) return node->inputs()[i];
  return nullptr;
}

// A number or a list of numbers as a vector; anything else (None) as an empty one.
template <class T>
std::vector<T> numbers(const IValue& v) {
  auto number = [](const IValue& e) { return e.isInt() ? static_cast<T>(e.toInt()) : static_cast<T>(e.toDouble()); };
  if (v.isInt() || v.isDouble()) return {number(v)};
  std::vector<T> out;
  if (v.isList())
    for (const IValue& e : v.toListRef()) out.push_back(number(e));
  return out;
}

// The dotted module path a node runs in: from the inlined call stack of a loaded module,
// else from the trace's scope ("__module.layer1/__module.layer1.0").
std::string module_path(Node* node) {
  std::string path;
  if (const auto stack = node->callstack()) {
    for (const auto& entry : (*stack)->vec())
      if (const auto& info = std::get<2>(entry)) path += (path.empty() ? "" : ".") + info->instance_name();
    if (!path.empty()) return path;
  }
  if (node->scope() && !node->scope()->isBlank()) {
    std::string scope = node->scope()->namesFromRoot();
    scope = scope.substr(scope.rfind('/') + 1);
    const std::string prefix = "__module.";
    return scope.rfind(prefix, 0) == 0 ? scope.substr(prefix.size()) : scope;
  }
  return path;
}

class GraphReader {
 public:
  explicit GraphReader(std::unordered_map<const void*, std::string> tensor_names)
      : tensor_names_(std::move(tensor_names)) {
    LayerNode input;
    input.name = "input";
    graph_.add(std::move(input));
  }

  void set_known(const Value* v, IValue value) { known_[v] = std::move(value); }
  void set_image(const Value* v) { spatial_[v] = 0; }

  LayerGraph read(Block* block) {
    walk(block);
    if (graph_.nodes.size() < 2) throw Error("the network has no convolution, pooling or resampling layer");
    return std::move(graph_);
  }

 private:
  LayerGraph graph_;
  std::unordered_map<const void*, std::string> tensor_names_;  // data pointer -> parameter name
  std::unordered_map<const Value*, int> spatial_;              // value -> layer whose map it is
  std::unordered_map<const Value*, std::vector<int>> spatial_lists_;
  std::unordered_map<const Value*, IValue> known_;  // constants and attributes
  std::unordered_map<const Value*, std::string> attribute_path_;
  std::set<int> vectors_;                      // layers whose map has become a vector
  std::unordered_map<int, std::string> base_;  // layers named after an upstream layer: its name
  std::string pending_base_;
  // Maps flattened to a sequence of positions (attention's tokens), by the maps they came
  // from; lists whose elements are all the same map or the same tokens.
  std::unordered_map<const Value*, std::set<int>> tokens_;
  std::unordered_map<const Value*, int> uniform_lists_;
  std::unordered_map<const Value*, std::set<int>> token_lists_;

  void walk(Block* block) {
    for (Node* node : block->nodes()) visit(node);
  }

  std::optional<IValue> known(const Value* v) const {
    const auto it = known_.find(v);
    if (it != known_.end()) return it->second;
    if (v->node()->kind() == c10::prim::Constant) return torch::jit::toIValue(v);
    return std::nullopt;
  }

  std::string where(Node* node) const {
    const std::string path = module_path(node);
    return "node %" + node->output(0)->debugName() + (path.empty() ? "" : " in " + path);
  }

  IValue required(Node* node, const char* name) const {
    const Value* v = argument(node, name);
    const auto value = v ? known(v) : std::nullopt;
    if (!value) throw Error(op_kind(node) + " (" + where(node) + "): its " + name + " is not a constant");
    return *value;
  }

  std::vector<int> spatial_inputs(Node* node) const {
    std::vector<int> layers;
    for (const Value* v : node->inputs()) {
      const auto it = spatial_.find(v);
      if (it != spatial_.end()) layers.push_back(it->second);
    }
    return layers;
  }

  std::string unique(std::string name) const {
    if (graph_.find(name) < 0) return name;
    for (int i = 2;; ++i)
      if (graph_.find(name + "_" + std::to_string(i)) < 0) return name + "_" + std::to_string(i);
  }

  // Named after the module it runs in; in a graph without modules (a C++ trace), after the
  // latest layer upstream that has a name of its own ("features.1.0.block.3.0.add_2").
  std::string name_for(Node* node, const std::string& op, const std::vector<int>& inputs) {
    const std::string path = module_path(node);
    if (!path.empty()) return path + "." + op;
    // The latest input is the branch just computed (a residual's convolutions, a coupling's
    // changed half), the one a reader looks for.
    pending_base_ = base_of(*std::max_element(inputs.begin(), inputs.end()));
    return pending_base_ + "." + op;
  }

  std::string base_of(int layer) const {
    const auto it = base_.find(layer);
    return it == base_.end() ? graph_.nodes[layer].name : it->second;
  }

  void add_layer(Node* node, LayerNode layer) {
    layer.name = unique(layer.name);
    const int index = graph_.add(std::move(layer));
    if (!pending_base_.empty()) base_[index] = pending_base_;
    pending_base_.clear();
    spatial_[node->output(0)] = index;
  }

  void pass_through(Node* node, int layer) { spatial_[node->output(0)] = layer; }

  void visit(Node* node) {
    const std::string kind = op_kind(node);
    if (kind == "prim::Constant") return;
    if (kind == "prim::GetAttr") return get_attribute(node);
    if (kind == "prim::If") return branch(node);
    if (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct") return construct(node);
    if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") return unpack(node);
    if (kind == "aten::__getitem__" && get_item(node)) return;
    if (kIgnored.count(kind) || kShapeQueries.count(kind)) return;
    const std::vector<int> inputs = spatial_inputs(node);
    if (inputs.empty()) return token_input(node) ? on_tokens(node, kind) : fold(node);
    if (kind == "aten::_convolution" || kind == "aten::conv2d" || kind == "aten::convolution") return convolution(node);
    if (kind == "aten::max_pool2d" || kind == "aten::max_pool2d_with_indices" || kind == "aten::avg_pool2d")
      return pooling(node, kind);
    if (kind == "aten::adaptive_avg_pool2d" || kind == "aten::adaptive_max_pool2d") return adaptive_pooling(node);
    if (kind == "aten::constant_pad_nd" || kind == "aten::pad" || kind == "aten::_pad_enum" ||
        kind == "aten::reflection_pad2d" || kind == "aten::replication_pad2d")
      return padding(node);
    if (kind == "aten::upsample_nearest2d" || kind == "aten::upsample_bilinear2d") return upsampling(node, kind);
    if (kind == "aten::cat") return concatenation(node);
    if (kind == "aten::pixel_unshuffle" || kind == "aten::pixel_shuffle") return pixel_shuffle(node, kind);
    if (kSlicing.count(kind)) return slicing(node, kind, inputs[0]);
    if (kElementwise.count(kind)) return combine(node, kind, inputs);
    if (kind == "aten::index_copy" || kind == "aten::index_add") {
      // Writing channels of one map into another: a meeting point, per position.
      const int64_t dim = required(node, "dim").toInt();
      if (dim != 0 && dim != 1 && dim != -3) throw Error(kind + " (" + where(node) + ") writes along height or width");
      return combine(node, kind, inputs);
    }
    if (kPerPosition.count(kind)) return pass_through(node, inputs[0]);
    if (kind == "aten::flatten" || kind == "aten::view" || kind == "aten::reshape" || kind == "aten::mean" ||
        kind == "aten::sum" || kind == "aten::amax")
      return to_vector(node, kind, inputs[0]);
    if (kOnVectors.count(kind)) {
      if (!vectors_.count(inputs[0]))
        throw Error(kind + " (" + where(node) + ") is applied to a feature map; the analysis knows it only after " +
                    "flatten or global pooling");
      return pass_through(node, inputs[0]);
    }
    throw Error("the receptive-field analysis does not know " + kind + " (" + where(node) +
                "); it reads convolutions, pooling, padding, upsampling, sums, products, concatenation and " +
                "per-position operations");
  }

  // Two or more maps meet position by position; one map with constants passes through.
  void combine(Node* node, const std::string& kind, const std::vector<int>& inputs) {
    if (inputs.size() == 1) return pass_through(node, inputs[0]);
    LayerNode merge;
    merge.op = LayerOp::merge;
    merge.inputs = inputs;
    merge.name = name_for(node, short_name(kind), inputs);
    add_layer(node, std::move(merge));
  }

  void get_attribute(Node* node) {
    const std::string name = node->s(c10::attr::name);
    const auto owner = known(node->input(0));
    if (!owner || !owner->isObject()) return;
    known_[node->output()] = owner->toObject()->getAttr(name);
    const auto it = attribute_path_.find(node->input(0));
    attribute_path_[node->output()] = it == attribute_path_.end() ? name : it->second + "." + name;
  }

  // Only a branch whose condition is known here, or whose other arm raises, is followed.
  void branch(Node* node) {
    const auto condition = known(node->input(0));
    auto raises = [](Block* b) {
      for (Node* n : b->nodes())
        if (n->kind() == c10::prim::RaiseException) return true;
      return false;
    };
    Block* taken = nullptr;
    if (condition && condition->isBool())
      taken = node->blocks()[condition->toBool() ? 0 : 1];
    else if (raises(node->blocks()[0]))
      taken = node->blocks()[1];
    else if (raises(node->blocks()[1]))
      taken = node->blocks()[0];
    if (!taken) {
      bool carries_map = false;
      for (Block* b : node->blocks()) {
        walk(b);
        for (const Value* v : b->outputs()) carries_map = carries_map || spatial_.count(v) || spatial_lists_.count(v);
      }
      if (carries_map)
        throw Error("prim::If (" + where(node) + ") chooses a feature map by a value known only at run time");
      return;
    }
    walk(taken);
    for (size_t i = 0; i < node->outputs().size(); ++i) alias(taken->outputs()[i], node->outputs()[i]);
  }

  // `to` stands for the same value as `from`, whichever kind the reader tracks it as.
  void alias(const Value* from, const Value* to) {
    auto copy = [&](auto& map) {
      if (const auto it = map.find(from); it != map.end()) map[to] = it->second;
    };
    copy(spatial_);
    copy(spatial_lists_);
    copy(uniform_lists_);
    copy(tokens_);
    copy(token_lists_);
    if (const auto value = known(from)) known_[to] = *value;
  }

  // An element of a list of maps or tokens; false for other lists.
  bool get_item(Node* node) {
    const Value* list = node->input(0);
    if (const auto it = uniform_lists_.find(list); it != uniform_lists_.end())
      spatial_[node->output()] = it->second;
    else if (const auto t = token_lists_.find(list); t != token_lists_.end())
      tokens_[node->output()] = t->second;
    else if (const auto m = spatial_lists_.find(list); m != spatial_lists_.end() && known(node->input(1)))
      spatial_[node->output()] = m->second.at(static_cast<size_t>(known(node->input(1))->toInt()));
    else
      return false;
    return true;
  }

  void construct(Node* node) {
    if (const std::set<int>* origins = token_input(node)) {
      token_lists_[node->output()] = *origins;
      return;
    }
    const std::vector<int> maps = spatial_inputs(node);
    if (!maps.empty()) {
      if (maps.size() != node->inputs().size())
        throw Error(op_kind(node) + " (" + where(node) + ") mixes feature maps with other values");
      spatial_lists_[node->output()] = maps;
      return;
    }
    std::vector<IValue> values;
    for (const Value* v : node->inputs()) {
      const auto value = known(v);
      if (!value) return;
      values.push_back(*value);
    }
    if (node->kind() == c10::prim::TupleConstruct) {
      known_[node->output()] = c10::ivalue::Tuple::create(std::move(values));
      return;
    }
    c10::impl::GenericList list(c10::AnyType::get());
    for (IValue& v : values) list.push_back(std::move(v));
    known_[node->output()] = std::move(list);
  }

  void unpack(Node* node) {
    if (const auto it = uniform_lists_.find(node->input()); it != uniform_lists_.end()) {
      for (const Value* out : node->outputs()) spatial_[out] = it->second;
      return;
    }
    if (const auto it = token_lists_.find(node->input()); it != token_lists_.end()) {
      for (const Value* out : node->outputs()) tokens_[out] = it->second;
      return;
    }
    if (const auto it = spatial_lists_.find(node->input()); it != spatial_lists_.end()) {
      for (size_t i = 0; i < node->outputs().size() && i < it->second.size(); ++i)
        spatial_[node->outputs()[i]] = it->second[i];
      return;
    }
    const auto value = known(node->input());
    if (!value) return;
    const std::vector<IValue> items =
        value->isTuple() ? value->toTupleRef().elements().vec() : value->toListRef().vec();
    for (size_t i = 0; i < node->outputs().size() && i < items.size(); ++i) known_[node->outputs()[i]] = items[i];
  }

  // A node on constants only (self.training, shape arithmetic): run it to know its result.
  // In-place operators are not run: a traced module's constants share storage with its
  // parameters, which the analysis must leave as they are.
  void fold(Node* node) {
    if (!node->blocks().empty() || node->outputs().empty() || !node->maybeOperator()) return;
    if (const c10::FunctionSchema* schema = node->maybeSchema(); schema && schema->is_mutable()) return;
    torch::jit::Stack stack;
    for (const Value* v : node->inputs()) {
      const auto value = known(v);
      if (!value) return;
      stack.push_back(*value);
    }
    try {
      node->getOperation()(stack);
    } catch (const std::exception&) {
      return;  // not foldable here; its results stay unknown
    }
    for (size_t i = 0; i < node->outputs().size() && i < stack.size(); ++i) known_[node->outputs()[i]] = stack[i];
  }

  std::array<int64_t, 2> pair(Node* node, const char* name, std::array<int64_t, 2> otherwise) const {
    const std::vector<int64_t> v = numbers<int64_t>(required(node, name));
    if (v.empty()) return otherwise;
    if (v.size() == 1) return {v[0], v[0]};
    if (v.size() != 2) throw Error(op_kind(node) + " (" + where(node) + "): " + name + " is not two-dimensional");
    return {v[0], v[1]};
  }

  void window(LayerNode& layer, Node* node, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
              std::array<int64_t, 2> padding, std::array<int64_t, 2> dilation) const {
    for (int a = 0; a < 2; ++a) layer.window[a] = AxisWindow{kernel[a], stride[a], padding[a], padding[a], dilation[a]};
    for (const AxisWindow& w : layer.window)
      if (w.kernel < 1 || w.stride < 1 || w.dilation < 1 || w.pad_before < 0)
        throw Error(op_kind(node) + " (" + where(node) + "): a window with a non-positive size");
  }

  void convolution(Node* node) {
    // The kernel's size: from the weight when it is a constant or an attribute, else from
    // the sizes the trace recorded for it (a weight computed in forward, as Glow's LU one).
    const Value* weight_value = argument(node, "weight");
    const auto weight = weight_value ? known(weight_value) : std::nullopt;
    std::vector<int64_t> kernel_shape;
    if (weight && weight->isTensor())
      kernel_shape = weight->toTensor().sizes().vec();
    else if (const auto sizes = weight_value ? traced_sizes(weight_value) : std::nullopt)
      kernel_shape = *sizes;
    else
      throw Error(op_kind(node) + " (" + where(node) + "): its weight's size is not known");
    if (kernel_shape.size() != 4)
      throw Error(op_kind(node) + " (" + where(node) + "): only two-dimensional convolutions are analysed");
    if (const Value* t = argument(node, "transposed"); t && known(t) && known(t)->toBool())
      throw Error("transposed convolution (" + where(node) + ") is not analysed");
    LayerNode layer;
    layer.op = LayerOp::conv;
    layer.inputs = {spatial_.at(node->input(0))};
    const IValue padding = required(node, "padding");
    std::array<int64_t, 2> pad{0, 0};
    if (padding.isString())
      layer.same_padding = padding.toStringRef() == "same";
    else
      pad = pair(node, "padding", {0, 0});
    window(layer, node, {kernel_shape[2], kernel_shape[3]}, pair(node, "stride", {1, 1}), pad,
           pair(node, "dilation", {1, 1}));
    // Named after its weight: the attribute path of a loaded module, the parameter of a traced one.
    std::string name;
    if (const auto it = attribute_path_.find(weight_value); it != attribute_path_.end())
      name = it->second;
    else if (weight && weight->isTensor())
      if (const auto p = tensor_names_.find(weight->toTensor().data_ptr()); p != tensor_names_.end()) name = p->second;
    const std::string suffix = ".weight";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      name.resize(name.size() - suffix.size());
    layer.name = name.empty() ? name_for(node, "conv", layer.inputs) : name;
    add_layer(node, std::move(layer));
  }

  void pooling(Node* node, const std::string& kind) {
    LayerNode layer;
    layer.op = kind == "aten::avg_pool2d" ? LayerOp::avg_pool : LayerOp::max_pool;
    layer.inputs = {spatial_.at(node->input(0))};
    const auto kernel = pair(node, "kernel_size", {1, 1});
    const auto dilation = argument(node, "dilation") ? pair(node, "dilation", {1, 1}) : std::array<int64_t, 2>{1, 1};
    window(layer, node, kernel, pair(node, "stride", kernel), pair(node, "padding", {0, 0}), dilation);
    layer.ceil_mode = required(node, "ceil_mode").toBool();
    const std::string path = module_path(node);
    layer.name = path.empty() ? name_for(node, short_name(kind), layer.inputs) : path;
    add_layer(node, std::move(layer));
  }

  void adaptive_pooling(Node* node) {
    LayerNode layer;
    layer.op = LayerOp::adaptive_pool;
    layer.inputs = {spatial_.at(node->input(0))};
    const IValue size = required(node, "output_size");
    for (const IValue& e : size.isIntList() ? std::vector<IValue>() : size.toListRef().vec())
      if (e.isNone()) throw Error(op_kind(node) + " (" + where(node) + "): an output size of None is not analysed");
    layer.output_size = pair(node, "output_size", {1, 1});
    const std::string path = module_path(node);
    layer.name = path.empty() ? name_for(node, short_name(op_kind(node)), layer.inputs) : path;
    const bool global = layer.output_size[0] == 1 && layer.output_size[1] == 1;
    add_layer(node, std::move(layer));
    if (global) vectors_.insert(spatial_.at(node->output(0)));
  }

  void padding(Node* node) {
    const char* name = argument(node, "pad") ? "pad" : "padding";
    const std::vector<int64_t> p = numbers<int64_t>(required(node, name));  // (left, right, top, bottom)
    if (p.size() != 2 && p.size() != 4)
      throw Error(op_kind(node) + " (" + where(node) + "): padding beyond height and width is not analysed");
    LayerNode layer;
    layer.op = LayerOp::pad;
    layer.inputs = {spatial_.at(node->input(0))};
    layer.window[1].pad_before = p[0];
    layer.window[1].pad_after = p[1];
    if (p.size() == 4) {
      layer.window[0].pad_before = p[2];
      layer.window[0].pad_after = p[3];
    }
    layer.name = name_for(node, "pad", layer.inputs);
    add_layer(node, std::move(layer));
  }

  void upsampling(Node* node, const std::string& kind) {
    LayerNode layer;
    layer.op = LayerOp::upsample;
    layer.inputs = {spatial_.at(node->input(0))};
    layer.bilinear = kind == "aten::upsample_bilinear2d";
    std::vector<double> scale;
    if (const Value* v = argument(node, "scale_factors"); v && known(v) && !known(v)->isNone())
      scale = numbers<double>(*known(v));
    else if (argument(node, "scales_h") && known(argument(node, "scales_h")) &&
             !known(argument(node, "scales_h"))->isNone())
      scale = {known(argument(node, "scales_h"))->toDouble(), known(argument(node, "scales_w"))->toDouble()};
    if (scale.empty())
      throw Error(kind + " (" + where(node) + "): upsampling to a fixed size is not analysed; use a scale factor");
    layer.scale = {scale[0], scale.size() > 1 ? scale[1] : scale[0]};
    layer.name = name_for(node, "upsample", layer.inputs);
    add_layer(node, std::move(layer));
  }

  void concatenation(Node* node) {
    const auto it = spatial_lists_.find(node->input(0));
    const int64_t dim = required(node, "dim").toInt();
    if (it == spatial_lists_.end() || (dim != 1 && dim != -3))
      throw Error("aten::cat (" + where(node) + "): only feature maps joined along channels are analysed");
    LayerNode layer;
    layer.op = LayerOp::concat;
    layer.inputs = it->second;
    layer.name = name_for(node, "cat", layer.inputs);
    if (layer.inputs.size() == 1) return pass_through(node, layer.inputs[0]);
    add_layer(node, std::move(layer));
  }

  // The sizes a traced graph recorded for a value (scripted graphs have none).
  static std::optional<std::vector<int64_t>> traced_sizes(const Value* v) {
    const auto type = v->type()->cast<c10::TensorType>();
    if (!type) return std::nullopt;
    const auto sizes = type->sizes().concrete_sizes();
    if (!sizes) return std::nullopt;
    return *sizes;
  }

  // The rank a reshape asks for: from its constant shape, else from the list it builds.
  int64_t target_rank(Node* node) {
    const char* name = argument(node, "size") ? "size" : "shape";
    const Value* shape = argument(node, name);
    if (!shape) throw Error(op_kind(node) + " (" + where(node) + "): no target shape");
    if (const auto value = known(shape)) return static_cast<int64_t>(numbers<int64_t>(*value).size());
    if (shape->node()->kind() == c10::prim::ListConstruct) return static_cast<int64_t>(shape->node()->inputs().size());
    throw Error(op_kind(node) + " (" + where(node) + "): its target shape is not known");
  }

  void new_vector(Node* node, const std::string& op, int input) {
    LayerNode layer;
    layer.op = LayerOp::adaptive_pool;
    layer.inputs = {input};
    layer.name = name_for(node, op, layer.inputs);
    add_layer(node, std::move(layer));
    vectors_.insert(spatial_.at(node->output(0)));
  }

  // Flatten, reshape and reductions of a map. Reshapes that keep height and width act per
  // position; to a vector (rank ≤ 2) or a mean over height and width, every unit after sees
  // the whole input; to anything else, the positions become tokens (attention), and what
  // comes back from them sees the whole input too. A mean over channels acts per position.
  void to_vector(Node* node, const std::string& kind, int input) {
    if (vectors_.count(input)) return pass_through(node, input);
    auto fail = [&](const std::string& why) { return Error(kind + " (" + where(node) + ") " + why); };
    if (kind == "aten::flatten") {
      if (required(node, "start_dim").toInt() <= 1) return new_vector(node, "flatten", input);
      tokens_[node->output(0)] = {input};
      return;
    }
    if (kind == "aten::view" || kind == "aten::reshape") {
      const auto in = traced_sizes(node->input(0)), out = traced_sizes(node->output(0));
      if (in && out && in->size() == 4 && out->size() == 4 && (*in)[2] == (*out)[2] && (*in)[3] == (*out)[3])
        return pass_through(node, input);
      const int64_t rank = target_rank(node);
      if (rank <= 2) return new_vector(node, short_name(kind), input);
      if (rank == 4 && !(in && out)) throw fail("reshapes a feature map whose sizes the graph does not record");
      tokens_[node->output(0)] = {input};
      return;
    }
    std::vector<int64_t> dims = numbers<int64_t>(required(node, "dim"));
    for (int64_t& d : dims) d = d < 0 ? d + 4 : d;
    std::sort(dims.begin(), dims.end());
    if (dims == std::vector<int64_t>{1}) return pass_through(node, input);
    if (dims != std::vector<int64_t>{2, 3} && dims != std::vector<int64_t>{1, 2, 3})
      throw fail("reduces over dimensions other than height and width");
    new_vector(node, short_name(kind), input);
  }

  const std::set<int>* token_input(Node* node) const {
    for (const Value* v : node->inputs()) {
      if (const auto it = tokens_.find(v); it != tokens_.end()) return &it->second;
      if (const auto it = token_lists_.find(v); it != token_lists_.end()) return &it->second;
    }
    return nullptr;
  }

  // Whatever is computed from tokens mixes positions; a reshape back to a map [N, C, H, W]
  // returns to the map the tokens came from, with the whole input in its context.
  void on_tokens(Node* node, const std::string& kind) {
    std::set<int> origins;
    for (const Value* v : node->inputs()) {
      if (const auto it = tokens_.find(v); it != tokens_.end()) origins.insert(it->second.begin(), it->second.end());
      if (const auto it = token_lists_.find(v); it != token_lists_.end())
        origins.insert(it->second.begin(), it->second.end());
    }
    const bool back_to_map = (kind == "aten::view" || kind == "aten::reshape") && target_rank(node) == 4;
    if (!back_to_map) {
      for (const Value* out : node->outputs()) {
        if (out->type()->kind() == c10::TypeKind::ListType)
          token_lists_[out] = origins;
        else
          tokens_[out] = origins;
      }
      return;
    }
    if (origins.size() != 1)
      throw Error(kind + " (" + where(node) + ") makes one feature map of tokens from several maps");
    const int origin = *origins.begin();
    LayerNode pool;
    pool.op = LayerOp::adaptive_pool;
    pool.inputs = {origin};
    pool.name = unique(name_for(node, "attention_context", pool.inputs));
    pending_base_.clear();
    const int context = graph_.add(std::move(pool));
    LayerNode merge;
    merge.op = LayerOp::merge;
    merge.inputs = {origin, context};
    merge.name = name_for(node, "attention", merge.inputs);
    add_layer(node, std::move(merge));
  }

  // Space to depth (pixel_unshuffle, squeeze in RealNVP and Glow) is an f×f window with
  // stride f; depth to space places each unit's values on f×f positions, like nearest
  // upsampling.
  void pixel_shuffle(Node* node, const std::string& kind) {
    const bool unshuffle = kind == "aten::pixel_unshuffle";
    const int64_t f = required(node, unshuffle ? "downscale_factor" : "upscale_factor").toInt();
    LayerNode layer;
    layer.inputs = {spatial_.at(node->input(0))};
    if (unshuffle) {
      layer.op = LayerOp::conv;
      window(layer, node, {f, f}, {f, f}, {0, 0}, {1, 1});
    } else {
      layer.op = LayerOp::upsample;
      layer.scale = {static_cast<double>(f), static_cast<double>(f)};
    }
    layer.name = name_for(node, short_name(kind), layer.inputs);
    add_layer(node, std::move(layer));
  }

  // Batch and channel slices act per position; slicing height or width is not analysed.
  void slicing(Node* node, const std::string& kind, int input) {
    int64_t dim = required(node, "dim").toInt();
    if (dim < 0) dim += 4;
    if (dim != 0 && dim != 1) throw Error(kind + " (" + where(node) + ") slices height or width");
    for (const Value* out : node->outputs()) {
      if (out->type()->kind() == c10::TypeKind::ListType)
        uniform_lists_[out] = input;
      else
        spatial_[out] = input;
    }
  }
};

}  // namespace

LayerGraph layer_graph_from_torchscript(const std::string& path) {
  torch::jit::Module module = weights::load_torchscript(path);
  module.eval();
  const auto forward = module.find_method("forward");
  if (!forward) throw Error(path + ": the TorchScript module has no forward method");
  std::shared_ptr<torch::jit::Graph> graph = forward->graph()->copy();
  torch::jit::Inline(*graph);
  if (graph->inputs().size() != 2)
    throw Error(path + ": forward takes " + std::to_string(graph->inputs().size() - 1) +
                " arguments; the analysis needs a network of one image batch");
  GraphReader reader({});
  reader.set_known(graph->inputs()[0], module._ivalue());
  reader.set_image(graph->inputs()[1]);
  try {
    return reader.read(graph->block());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what(), e.kind());
  }
}

LayerGraph layer_graph_from_module(torch::nn::Module& module,
                                   const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                   const std::vector<int64_t>& input_shape) {
  ModuleTrace trace = trace_module(module, forward, input_shape);
  const std::shared_ptr<torch::jit::Graph> graph = trace.graph;
  GraphReader reader(std::move(trace.tensor_names));
  reader.set_image(graph->inputs()[0]);
  return reader.read(graph->block());
}

}  // namespace zoo::models::analysis
