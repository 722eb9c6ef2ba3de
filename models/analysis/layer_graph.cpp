#include "models/analysis/layer_graph.h"

#include "core/error.h"

namespace zoo::models::analysis {

int LayerGraph::add(LayerNode node) {
  const bool input = node.op == LayerOp::input;
  if (input != nodes.empty()) throw Error("a layer graph has exactly one input, its first node");
  for (int i : node.inputs)
    if (i < 0 || i >= static_cast<int>(nodes.size()))
      throw Error("layer " + node.name + ": an input must be an earlier layer");
  if (!input && node.inputs.empty()) throw Error("layer " + node.name + " has no input");
  if (find(node.name) >= 0) throw Error("two layers are named " + node.name);
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

int LayerGraph::find(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

const char* op_name(LayerOp op) {
  switch (op) {
    case LayerOp::input: return "input";
    case LayerOp::conv: return "conv";
    case LayerOp::max_pool: return "max_pool";
    case LayerOp::avg_pool: return "avg_pool";
    case LayerOp::pad: return "pad";
    case LayerOp::adaptive_pool: return "adaptive_pool";
    case LayerOp::upsample: return "upsample";
    case LayerOp::merge: return "merge";
    case LayerOp::concat: return "concat";
  }
  return "?";
}

}  // namespace zoo::models::analysis

namespace zoo::models::analysis {

bool windowed(LayerOp op) {
  return op == LayerOp::conv || op == LayerOp::max_pool || op == LayerOp::avg_pool || op == LayerOp::pad;
}

}  // namespace zoo::models::analysis
