#pragma once
// PyTorch-compatible state dicts for LibTorch modules, so weights move between
// torch.nn.Module.state_dict() and zoo models by name alone.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace zoo::weights {

// The module's parameters and buffers with PyTorch's dotted names ("bn.running_mean",
// "block.conv.weight") in PyTorch's order: each module's own parameters, then its own
// buffers (BatchNorm's num_batches_tracked among them), then its children in registration
// order. The tensors are detached but share storage with the module.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> loaded;      // copied into the module
  std::vector<std::string> missing;     // the module has them, the tensors given do not
  std::vector<std::string> unexpected;  // given, but the module has no such name
  std::vector<std::string> mismatched;  // "name: expected [4, 3] float, got [3, 4] double"

  bool ok() const;  // nothing missing, unexpected or mismatched
  // "loaded 12 tensors; missing: fc.bias; unexpected: extra; mismatched: conv.weight: expected ..."
  std::string summary() const;
};

// Copies tensors into the module's parameters and buffers by name, onto each one's device.
// Shapes must match exactly; a floating tensor loads into any floating type (cast, as
// PyTorch's copy_ does) but integer, bool and complex ones only into their own kind, so a
// float never lands silently in num_batches_tracked. Strict: unless everything fits, throws
// a zoo::Error naming every offending key and loads nothing. Not strict: loads what fits
// and reports the rest. A name given twice is an error either way.
LoadReport load_state_dict(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                           bool strict = true);

}  // namespace zoo::weights
