#include "weights/torchscript.h"

#include <torch/script.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace zoo::weights {
namespace {

// Named like torch.nn.Module.state_dict(): own parameters, own buffers, then children.
// jit::Module's recursive named_parameters() would list every parameter before any
// buffer instead.
void collect(const torch::jit::Module& module, const std::string& prefix, NamedTensors& out) {
  for (const auto& parameter : module.named_parameters(/*recurse=*/false))
    out.emplace_back(prefix + parameter.name, parameter.value.detach());
  for (const auto& buffer : module.named_buffers(/*recurse=*/false))
    out.emplace_back(prefix + buffer.name, buffer.value.detach());
  for (const auto& child : module.named_children()) collect(child.value, prefix + child.name + ".", out);
}

}  // namespace

torch::jit::Module load_torchscript(const std::string& path) {
  if (!std::ifstream(path, std::ios::binary)) throw Error("cannot open " + path + ": " + std::strerror(errno));
  try {
    return torch::jit::load(path, torch::kCPU);
  } catch (const std::exception& e) {
    throw Error("cannot load TorchScript archive " + path + ": " + first_line(e));
  }
}

NamedTensors read_torchscript(const std::string& path) {
  NamedTensors tensors;
  collect(load_torchscript(path), "", tensors);
  return tensors;
}

}  // namespace zoo::weights
