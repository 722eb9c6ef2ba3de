#pragma once
// Shared by the fuzz targets: the readers must answer any bytes with tensors or a
// zoo::Error. Any other exception escapes LLVMFuzzerTestOneInput and libFuzzer reports
// it as a crash, as it does for ASan's findings.
#include <cstddef>
#include <cstdint>

#include "weights/safetensors.h"

namespace zoo::fuzz {

// Reads every byte of every tensor in this instrumented code (LibTorch itself is not
// instrumented), so ASan catches a tensor that points outside the memory it owns.
inline void touch_every_byte(const weights::NamedTensors& tensors) {
  volatile uint8_t sink = 0;
  for (const auto& entry : tensors) {
    const torch::Tensor& tensor = entry.second;
    if (!tensor.is_contiguous()) __builtin_trap();  // both readers promise contiguous tensors
    const auto* bytes = static_cast<const uint8_t*>(tensor.data_ptr());
    const size_t size = static_cast<size_t>(tensor.numel()) * tensor.element_size();
    for (size_t i = 0; i < size; ++i) sink = sink ^ bytes[i];
  }
}

}  // namespace zoo::fuzz
