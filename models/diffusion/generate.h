#pragma once
// Drawing samples from a diffusion model in batches: sample i starts from noise drawn
// from (seed, i) alone and its sampler noise comes from (seed, i) too, so sample i is the
// same whatever the batch size or the device batch it lands in. train_diffusion's
// per-epoch pictures, sample_diffusion and reflow's (noise, sample) pairs all come from
// here.
#include <torch/torch.h>

#include <string>

#include "models/diffusion/diffusion_model.h"
#include "models/diffusion/samplers.h"
#include "models/diffusion/schedule.h"

namespace zoo::diffusion {

struct GenerateOptions {
  std::string sampler = "heun";
  ScheduleOptions schedule;
  torch::Tensor sigmas;            // a schedule given by hand (sigmas_from_list): used instead of `schedule`
  SamplerOptions sampler_options;  // its seed is the run's; first_index is set per batch
  int64_t batch_size = 256;
  double guidance = 1;  // classifier-free guidance scale (1 = none)
  torch::Device device = torch::kCPU;
  // Shown on stderr while sampling (a bar with rate and ETA, or plain lines when stderr is
  // not a terminal); empty: silent.
  std::string progress;
};

struct Generated {
  torch::Tensor noise;    // z_i ~ N(0, I) [n, ...]: the start x = σ_0·z_i
  torch::Tensor samples;  // in model space, float32, on the CPU
  int64_t nfe = 0;        // network evaluations per sample
  double seconds = 0;
};

// The labels of samples first, …, first + n − 1: all `label` when it is ≥ 0, else cycling
// through a conditional model's classes; undefined for an unconditional model given none.
torch::Tensor class_labels(int64_t n, int64_t label, int64_t classes, int64_t first = 0);

// Samples first, …, first + n − 1; labels [n] int64 for a conditional model or undefined.
Generated generate(const DiffusionModel& model, int64_t n, const torch::Tensor& labels, const GenerateOptions& options,
                   uint64_t first = 0);

}  // namespace zoo::diffusion
