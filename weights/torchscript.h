#pragma once
// TorchScript archives (torch.jit.save / torch.jit.script(model).save(path)): the
// module's parameters and buffers, read through LibTorch's own loader on the CPU.
#include <torch/script.h>

#include <string>

#include "weights/safetensors.h"

namespace zoo::weights {

// Parameters and buffers with PyTorch's dotted names, in state_dict() order: each
// module's own parameters, then its own buffers, then its submodules, depth first. The
// tensors are detached and outlive the module. A file LibTorch cannot load gives a
// zoo::Error naming it.
NamedTensors read_torchscript(const std::string& path);

// The archive as a module on the CPU; a file LibTorch cannot load gives a zoo::Error.
torch::jit::Module load_torchscript(const std::string& path);

}  // namespace zoo::weights
