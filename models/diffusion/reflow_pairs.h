#pragma once
// Reflow (Liu et al. 2022, "Flow Straight and Fast"): a rectified flow trained on the
// (noise, sample) couplings of a first model — each noise z solved through the first
// model's ODE to its sample x — learns straighter paths, which a few Euler steps follow
// well. These are the pairs it trains on.
#include <torch/torch.h>

#include <string>

#include "models/diffusion/diffusion_model.h"
#include "models/diffusion/schedule.h"

namespace zoo::diffusion {

struct ReflowPairOptions {
  int64_t pairs = 10000;
  std::string sampler = "rk45";  // the ODE solver (models/diffusion/samplers.h)
  ScheduleOptions schedule;      // of a fixed-step solver
  uint64_t seed = 0;             // pair i's noise comes from (seed, i)
  torch::Device device = torch::kCPU;
};

struct ReflowPairs {
  torch::Tensor noise, samples;  // [pairs, ...], model space, on the CPU
  torch::Tensor labels;          // [pairs] (a conditional source: classes in turn) or undefined
};

ReflowPairs draw_reflow_pairs(const DiffusionModel& source, const ReflowPairOptions& options);

}  // namespace zoo::diffusion
