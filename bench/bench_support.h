#pragma once
// What every benchmark executable shares: timing that waits for the GPU, parameter counts,
// and one JSON line with the rate, the implementation and the peak resident memory.
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <string>

#include "core/json.h"
#include "core/runtime.h"

namespace zoo::bench {

inline void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// A stopwatch that waits for queued GPU work at start and at each reading.
class Stopwatch {
 public:
  explicit Stopwatch(const torch::Device& device) : device_(device) { restart(); }
  void restart() {
    synchronize(device_);
    start_ = std::chrono::steady_clock::now();
  }
  double seconds() const {
    synchronize(device_);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  torch::Device device_;
  std::chrono::steady_clock::time_point start_;
};

inline int64_t count_parameters(const torch::nn::Module& net) {
  int64_t n = 0;
  for (const auto& p : net.parameters()) n += p.numel();
  return n;
}

// Prints `result` with the workload, "impl": "zoo", threads, device and peak RSS added.
inline void print_result(Json result, const std::string& workload, const Runtime& runtime) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  result["workload"] = workload;
  result["impl"] = "zoo";
  result["threads"] = runtime.threads;
  result["device"] = runtime.device.str();
  result["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  std::cout << result.dump() << std::endl;
}

}  // namespace zoo::bench
