#include "core/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "core/error.h"
#include "zoo/build_config.h"

#if ZOO_HAVE_ONEDNN
#include <dnnl.hpp>
#endif

namespace zoo {

// LibTorch 2.4 replaced the per-device calls by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool autocast_enabled(c10::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
static void enable_autocast(c10::DeviceType device, bool on) {
  at::autocast::set_autocast_dtype(device, at::kBFloat16);
  at::autocast::set_autocast_enabled(device, on);
}
#else
static bool autocast_enabled(c10::DeviceType device) {
  return device == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
static void enable_autocast(c10::DeviceType device, bool on) {
  if (device == c10::kCPU) {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(on);
  } else {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(on);
  }
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

bool inference_autocast_for(const std::string& precision, const torch::Device& device) {
  if (precision == "fp32") return false;
  if (precision != "bf16") throw Error("--precision " + precision + ": expected fp32 or bf16", ErrorKind::usage);
  if (!device.is_cuda() && !cpu_has_bf16())
    throw Error("--precision bf16: this CPU has no bfloat16 arithmetic (AVX512-BF16) that zoo can use; use fp32",
                ErrorKind::usage);
  return true;
}

bool cpu_has_bf16() {
#if ZOO_HAVE_ONEDNN
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
#else
  return false;  // zoo's bfloat16 CPU inference runs on oneDNN
#endif
}

AutocastGuard::AutocastGuard(bool enabled, c10::DeviceType device) : enabled_(enabled), device_(device) {
  if (!enabled_) return;
  previous_ = autocast_enabled(device_);
  at::autocast::increment_nesting();
  enable_autocast(device_, true);
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  // Casts are cached for the outermost region only; drop them when it closes.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  enable_autocast(device_, previous_);
}

}  // namespace zoo
