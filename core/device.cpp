#include "core/device.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace zoo {

torch::Device parse_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (spec != "cuda") {
      const std::string digits = spec.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 3)
        throw Error("--device " + spec + ": expected cuda:N with N a GPU index", ErrorKind::usage);
      index = std::stoi(digits);
    }
    if (!torch::cuda::is_available())
      throw Error("--device " + spec + ": CUDA is not available on this machine (use --device cpu or auto)",
                  ErrorKind::usage);
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index >= count)
      throw Error("--device " + spec + ": only " + std::to_string(count) + " CUDA device(s) present", ErrorKind::usage);
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("--device " + spec + ": expected auto, cpu, cuda or cuda:N", ErrorKind::usage);
}

namespace {

// PyTorch's default: OMP_NUM_THREADS where it holds a positive count (capped at the
// cores), else every core. A scheduler running several jobs side by side (CTest -j,
// a batch system) sets it to keep their OpenMP workers from contending.
int default_threads(int cores) {
  const char* set = std::getenv("OMP_NUM_THREADS");
  const std::string value = set ? set : "";
  if (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos) return cores;
  const int requested = std::stoi(value);
  return requested > 0 ? std::min(requested, cores) : cores;
}

}  // namespace

int configure_threads(int requested) {
  if (requested < 0) throw Error("--threads must be 0 (all cores) or positive", ErrorKind::usage);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // More threads than cores only contend (OpenMP workers spin), and a huge count stalls
  // starting the pool.
  if (requested > cores)
    throw Error("--threads " + std::to_string(requested) + ": this machine has " + std::to_string(cores) +
                    " cores (0 uses them all)",
                ErrorKind::usage);
  const int threads = requested > 0 ? requested : default_threads(cores);
  torch::set_num_threads(threads);
  // Which BLAS backs LibTorch is a system choice (Debian's alternatives), so it is looked
  // up at run time. An OpenMP OpenBLAS shares LibTorch's OpenMP pool and may use every
  // thread; a pthreads OpenBLAS would start a second pool that fights LibTorch's over the
  // same cores (threads x threads workers inside parallel regions), so it gets one.
  using SetThreads = void (*)(int);
  using GetParallel = int (*)();
  auto set_blas_threads = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto blas_parallel = reinterpret_cast<GetParallel>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  constexpr int kOpenMp = 2;
  if (set_blas_threads) set_blas_threads(blas_parallel && blas_parallel() == kOpenMp ? threads : 1);
  return threads;
}

}  // namespace zoo
