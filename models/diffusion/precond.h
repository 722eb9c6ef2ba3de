#pragma once
// Preconditioning (Karras et al. 2022, Table 1): every diffusion model in zoo is a
// denoiser D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ)) around a network F.
// VP, VE, EDM and rectified flow differ only in these four coefficients and in how
// training draws σ, so one set of samplers serves them all.
//
// Rectified flow here puts noise at t = 1: x_t = (1 − t)·x₀ + t·ε and F predicts the
// velocity ε − x₀. In the EDM frame that is x = x_t/(1 − t), σ = t/(1 − t), and
// D = x_t − t·F, which gives c_skip = c_in = 1/(1 + σ), c_out = −σ/(1 + σ), c_noise = t.
// (Liu et al. write x_t = t·x₁ + (1 − t)·x₀ with the data at t = 1: their t is our 1 − t
// and their velocity is minus ours.)
#include <torch/torch.h>

#include <functional>
#include <string>

#include "core/json.h"

namespace zoo::diffusion {

enum class Parameterization { edm, vp, ve, rf };
Parameterization parse_parameterization(const std::string& name);  // edm, vp, ve or rf
std::string to_string(Parameterization kind);
// The kind as a JSON field of a config (core/json_fields.h): its name.
Json to_json_value(Parameterization kind);
void read_json_value(const Json& value, const std::string& what, Parameterization& out);

struct PrecondOptions {
  Parameterization kind = Parameterization::edm;
  double sigma_data = 0.5;  // EDM
  double beta_d = 19.9;     // VP
  double beta_min = 0.1;    // VP
  double vp_m = 1000;       // VP: c_noise = (M − 1)·t
};

template <class Visit>
void visit_fields(PrecondOptions& p, Visit&& field) {
  field("kind", p.kind);
  field("sigma_data", p.sigma_data);
  field("beta_d", p.beta_d);
  field("beta_min", p.beta_min);
  field("vp_m", p.vp_m);
}

struct Coefficients {
  torch::Tensor c_skip, c_out, c_in, c_noise;  // each shaped like sigma
};

Coefficients coefficients(const PrecondOptions& options, const torch::Tensor& sigma);

// VP's σ(t) = √(exp(½β_d t² + β_min t) − 1) and its inverse.
torch::Tensor vp_sigma(const PrecondOptions& options, const torch::Tensor& t);
torch::Tensor vp_sigma_inverse(const PrecondOptions& options, const torch::Tensor& sigma);

// Rectified flow's time for a noise level and back: t = σ/(1 + σ), σ = t/(1 − t).
torch::Tensor rf_time(const torch::Tensor& sigma);
torch::Tensor rf_sigma(const torch::Tensor& t);

// Rectified flow's velocity and the denoised estimate, at x_t and time t, are two views of
// one prediction: D = x_t − t·v and v = (x_t − D)/t.
torch::Tensor denoised_from_velocity(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& velocity);
torch::Tensor velocity_from_denoised(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& denoised);

// The network F: (scaled input, c_noise per example [B], class labels or undefined) -> output.
using Network =
    std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels)>;

// D(x; σ) for a batch x [B, ...] and σ per example [B] (or one scalar for all).
torch::Tensor denoise(const PrecondOptions& options, const Network& network, const torch::Tensor& x,
                      const torch::Tensor& sigma, const torch::Tensor& labels = {});

}  // namespace zoo::diffusion
