#pragma once
// Training losses of the EDM paper (Karras et al. 2022, Table 1) in one form: draw a noise
// level σ per example, corrupt the data y to y + σ·n, and weight the denoiser's squared
// error λ(σ)·‖D(y + σn; σ) − y‖². The objectives differ only in how σ is drawn and in λ:
//
//   edm  ln σ ~ N(P_mean, P_std²),                     λ = (σ² + σ_d²)/(σ·σ_d)²
//   vp   t ~ U(ε_t, 1), σ = σ_vp(t),                   λ = 1/σ²
//   ve   σ = σ_min·(σ_max/σ_min)^u, u ~ U(0, 1),       λ = 1/σ²
//   rf   t ~ U(0, 1) or logit-normal, σ = t/(1 − t),   the velocity loss ‖F(x_t, t) − (n − y)‖²
//
// Rectified flow's velocity loss is λ = 1/t² in the D form; it is computed on x_t
// directly, since near t = 0 the D form divides a rounding error by t².
#include <torch/torch.h>

#include <string>

#include "models/diffusion/precond.h"

namespace zoo::diffusion {

struct LossOptions {
  Parameterization objective = Parameterization::edm;
  double p_mean = -1.2, p_std = 1.2;               // edm
  double vp_epsilon_t = 1e-5;                      // vp (β_d, β_min from the preconditioning)
  double ve_sigma_min = 0.02, ve_sigma_max = 100;  // ve
  std::string rf_time = "uniform";                 // rf: uniform or logit_normal (t = sigmoid(N(0, 1)))
  // rf: train only at the K noise levels a K-step Euler sampler visits (distilling a
  // rectified flow into a K-step sampler); 0 = every level.
  int64_t distill_steps = 0;
};

// σ of each example from its own uniform draw u ∈ (0, 1) by inverse-CDF sampling (log-normal
// σ through Φ⁻¹(u) = √2·erfinv(2u − 1)), so the draw can come from each example's own
// random stream; u is clamped to [1e-6, 1 − 1e-6]. float32, like u.
torch::Tensor sigma_from_uniform(const LossOptions& loss, const PrecondOptions& precond, const torch::Tensor& u);
// σ for n examples, float32 [n], from the global generator.
torch::Tensor draw_sigma(const LossOptions& loss, const PrecondOptions& precond, int64_t n,
                         const torch::Device& device);

// λ(σ) of the D-form loss; for rf, 1/t².
torch::Tensor loss_weight(const LossOptions& loss, const PrecondOptions& precond, const torch::Tensor& sigma);

// Mean loss of a batch: data y [B, ...], noise n shaped like y (fresh N(0, I) for
// ordinary training, the paired noise for reflow), σ [B], labels [B] or undefined.
torch::Tensor diffusion_loss(const LossOptions& loss, const PrecondOptions& precond, const Network& network,
                             const torch::Tensor& y, const torch::Tensor& noise, const torch::Tensor& sigma,
                             const torch::Tensor& labels = {});

// EDM's loss object: the loss of a batch at a training step. Each example's σ and noise come
// from its own stream (seed, step, example index), so a data-parallel run draws exactly what
// one process with the whole batch would, and a resumed run what the uninterrupted one did.
class DiffusionLoss {
 public:
  DiffusionLoss(LossOptions options, PrecondOptions precond, uint64_t seed);

  // Data y [B, ...] of the examples `indices` [B]. `noise` is drawn unless given (reflow
  // trains on its pairs' noise); labels [B] or undefined.
  torch::Tensor operator()(const Network& network, const torch::Tensor& y, const torch::Tensor& indices, int64_t step,
                           const torch::Tensor& labels = {}, const torch::Tensor& noise = {}) const;

 private:
  LossOptions options_;
  PrecondOptions precond_;
  uint64_t seed_;
  torch::Tensor distill_sigmas_;  // the K levels of options_.distill_steps, float32
};

}  // namespace zoo::diffusion
