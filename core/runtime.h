#pragma once
// Applies the options every executable shares (--device, --threads, --seed) in one place.
#include <torch/torch.h>

#include "core/options.h"

namespace zoo {

struct Runtime {
  torch::Device device = torch::kCPU;
  int threads = 1;
  uint64_t seed = 0;
};

// Parses the device, sets the thread count, seeds the global generators and tunes glibc's
// heap for the large, short-lived blocks of tensor work.
Runtime setup_runtime(const CommonOptions& options);

}  // namespace zoo
