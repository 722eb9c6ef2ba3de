#include "core/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "core/error.h"

namespace zoo {

// LibTorch 2.4 replaced the CUDA-only calls by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
static void enable_cuda_autocast(bool on) {
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
}
#else
static bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
static void enable_cuda_autocast(bool on) {
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
}
#endif

bool autocast_for(const std::string& precision, const torch::Device& device) {
  if (precision == "fp32") return false;
  if (precision == "auto") return device.is_cuda();
  if (precision == "bf16") {
    if (!device.is_cuda()) throw Error("--precision bf16 needs a CUDA device (on the CPU use fp32)", ErrorKind::usage);
    return true;
  }
  throw Error("--precision " + precision + ": expected auto, fp32 or bf16", ErrorKind::usage);
}

AutocastGuard::AutocastGuard(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_ = cuda_autocast_enabled();
  at::autocast::increment_nesting();
  enable_cuda_autocast(true);
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  // Casts are cached for the outermost region only; drop them when it closes.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  enable_cuda_autocast(previous_);
}

}  // namespace zoo
