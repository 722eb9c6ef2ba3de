#pragma once
// Gradients through sampling. Two estimators of ∇_θ E_{z~p_θ}[f(z)]:
//   reparameterisation (Kingma & Welling 2014): z = μ + σ·ε with ε ~ N(0, I), so the
//     gradient flows through z; low variance, needs f differentiable and p reparameterisable;
//   score function / REINFORCE (Williams 1992): E[(f(z) − b)·∇ log p_θ(z)], for any f and
//     any p whose log-density is differentiable; unbiased for any baseline b, noisier.
// And for categorical variables, the Gumbel tricks (Jang et al. 2017, Maddison et al. 2017):
// argmax(logits + Gumbel noise) is an exact sample of softmax(logits); its relaxation
// softmax((logits + g)/τ) is differentiable and tends to the one-hot sample as τ → 0; the
// straight-through ("hard") variant is the one-hot sample forward with the relaxation's
// gradient backward.
#include <torch/torch.h>

namespace zoo::models {

// z = μ + exp(½·log σ²)·ε, with ε ~ N(0, I) given, or from the default generator.
torch::Tensor gaussian_reparameterize(const torch::Tensor& mean, const torch::Tensor& log_variance,
                                      const torch::Tensor& epsilon = {});

// KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (σ² + μ² − 1 − log σ²) over every dimension but the first: [B].
torch::Tensor gaussian_kl(const torch::Tensor& mean, const torch::Tensor& log_variance);

// A surrogate whose gradient is the score-function estimate (f − b)·∇ log p(z): f and b
// are treated as constants. Average it over samples and minimise (or maximise) it as f.
torch::Tensor score_function_surrogate(const torch::Tensor& log_prob, const torch::Tensor& f, double baseline = 0.0);

// Standard Gumbel noise −log(−log U) shaped like `like`, U from the default generator.
torch::Tensor gumbel_noise(const torch::Tensor& like);
// The same from given uniforms U in [0, 1).
torch::Tensor gumbel_noise_from_uniform(const torch::Tensor& u);

// An exact categorical sample of softmax(logits) along the last dimension: indices. The
// Gumbel noise g is drawn unless given (like the logits).
torch::Tensor gumbel_max(const torch::Tensor& logits, const torch::Tensor& gumbel = {});

// softmax((logits + g)/τ) along the last dimension; with hard, the one-hot of its argmax in
// the forward pass and the relaxation's gradient in the backward pass.
torch::Tensor gumbel_softmax(const torch::Tensor& logits, double temperature, bool hard = false,
                             const torch::Tensor& gumbel = {});

// Jang et al.'s annealing: τ = max(τ_min, τ₀·exp(−rate·step)).
struct TemperatureSchedule {
  double initial = 1.0, minimum = 0.5, rate = 3e-5;
  double at(int64_t step) const;
};

}  // namespace zoo::models
