#pragma once
// Where and how wide to compute: --device and --threads.
#include <torch/torch.h>

#include <string>

namespace zoo {

// "auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N". Asking for CUDA on a
// machine without it is a usage error, not a silent fallback.
torch::Device parse_device(const std::string& spec);

// Sets LibTorch's intra-op threads (0 = OMP_NUM_THREADS when set, else all cores) and
// keeps OpenBLAS from starting a second pool of its own on top: the two pools fight over
// the same cores otherwise.
// Returns the thread count in use.
int configure_threads(int requested);

}  // namespace zoo
