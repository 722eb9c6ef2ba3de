#pragma once
// Weight files of any kind zoo reads, told apart by their content rather than their
// extension (.pt, .pth, .bin and .ckpt are used for all of them).
#include <string>

#include "weights/pth.h"
#include "weights/safetensors.h"

namespace zoo::weights {

enum class WeightFormat {
  safetensors,  // 8-byte header length, then a JSON header
  pth,          // torch.save (a zip with data.pkl; the legacy pre-1.6 pickle is detected to explain it)
  torchscript,  // torch.jit.save (a zip with constants.pkl and code/)
};

// Throws a zoo::Error naming the file when it is unreadable or none of the formats.
WeightFormat detect_weight_format(const std::string& path);

// The tensors of a weight file in any of the formats, by name, in file order. A .pth
// checkpoint's scalars (epoch, ...) are dropped: read_pth keeps them. `pth` says how far a
// .pth file is trusted.
NamedTensors read_weights(const std::string& path, const PthOptions& pth = {});

std::string format_name(WeightFormat format);  // "safetensors", "pth", "torchscript"
WeightFormat parse_weight_format(const std::string& name);
// The format a file name asks for: .safetensors, .pth/.bin, .pt/.ts; otherwise an error
// that asks for an explicit format.
WeightFormat format_for_path(const std::string& path);

// Writes tensors atomically in any of the formats, readable by PyTorch:
//   safetensors  with `metadata`
//   pth          a dict of tensors, as torch.save(state_dict) (torch.load gives a dict)
//   torchscript  a module whose state_dict() holds the tensors (torch.jit.load); no code
void write_weights(const std::string& path, WeightFormat format, const NamedTensors& tensors,
                   const std::map<std::string, std::string>& metadata = {});

}  // namespace zoo::weights
