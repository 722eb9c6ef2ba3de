#pragma once
// safetensors, the tensor file format zoo shares with Python both ways: an 8-byte
// little-endian header length N, N bytes of JSON describing each tensor (dtype, shape,
// byte range), then the raw little-endian C-order tensor bytes.
//
// Reading validates every rule of the format before a tensor is made, so a truncated or
// hostile file gives a zoo::Error naming the file and the problem, never a crash.
// Dtypes read: BOOL U8 I8 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64 (F8_E4M3 and F8_E5M2
// where LibTorch has 8-bit floats, 2.1 and later). LibTorch 1.13 has no unsigned types
// wider than a byte, so U16 is widened to int32, U32 to int64 and U64 to int64 (a U64
// value above the int64 maximum is an error); every LibTorch gets the same types.
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace zoo::weights {

// Tensors in file order, as a state dict is: order matters to people reading it.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafeTensors {
  NamedTensors tensors;  // sorted by position in the file, which is the order writers use
  std::map<std::string, std::string> metadata;
  std::string source;  // the file they came from, for error messages

  // nullptr when there is no tensor of that name.
  const torch::Tensor* find(const std::string& name) const;
  // Throws zoo::Error "missing tensor 'name' in <source>".
  torch::Tensor at(const std::string& name) const;
};

// Memory-maps the file. Tensors whose bytes are aligned in the file share the mapping
// (copy-on-write: writing to a tensor never changes the file) and keep it alive after the
// SafeTensors is gone; the others are copied.
SafeTensors read_safetensors(const std::string& path);
// The same reader over bytes already in memory; source_name stands for the file in errors.
SafeTensors parse_safetensors(std::string bytes, const std::string& source_name);

// Tensors are written in the given order, moved to the CPU and made contiguous. Accepted
// dtypes: bool uint8 int8 int16 float16 bfloat16 int32 float32 float64 int64 (and the
// 8-bit floats where LibTorch has them); anything else, or a repeated name, is an error.
std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {});
// serialize_safetensors written atomically: a crash never leaves a partial file.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace zoo::weights
