#include "models/flows/invertible_conv.h"

#include "core/error.h"

namespace zoo::flows {

InvertibleConv1x1Impl::InvertibleConv1x1Impl(const std::vector<int64_t>& shape, bool lu) : lu_(lu) {
  if (shape.size() != 1 && shape.size() != 3)
    throw Error("invertible 1x1 convolution: expected vector [D] or image [C, H, W] shape", ErrorKind::usage);
  const int64_t c = shape[0];
  const torch::Tensor rotation = std::get<0>(torch::linalg_qr(torch::randn({c, c}, torch::kDouble)));
  if (!lu_) {
    weight_ = register_parameter("weight", rotation.to(torch::kFloat));
    return;
  }
  const auto [p, l, u] = torch::linalg_lu(rotation);
  const torch::Tensor s = u.diagonal();
  permutation_ = register_buffer("permutation", p.to(torch::kFloat));
  sign_s_ = register_buffer("sign_s", s.sign().to(torch::kFloat));
  lower_ = register_parameter("lower", l.tril(-1).to(torch::kFloat));
  upper_ = register_parameter("upper", u.triu(1).to(torch::kFloat));
  log_s_ = register_parameter("log_s", s.abs().log().to(torch::kFloat));
}

InvertibleConv1x1Impl::Factors InvertibleConv1x1Impl::factors() const {
  const int64_t c = lower_.size(0);
  const torch::Tensor eye = torch::eye(c, lower_.options());
  // The masks keep the optimiser's updates from leaking outside the triangles.
  return {permutation_, lower_.tril(-1) + eye, upper_.triu(1) + torch::diag(sign_s_ * log_s_.exp())};
}

torch::Tensor InvertibleConv1x1Impl::weight() const {
  if (!lu_) return weight_;
  const Factors f = factors();
  return f.p.matmul(f.l).matmul(f.u);
}

// In float64: float32 inverses of a long chain of these drift visibly. The LU form inverts
// by two triangular solves, W⁻¹ = U⁻¹·L⁻¹·Pᵀ; a general inverse also checks its result by
// reading values back to the host, which on a GPU waits for the device, per layer and pass.
torch::Tensor InvertibleConv1x1Impl::inverse_weight() const {
  if (!lu_) return torch::inverse(weight_.to(torch::kDouble));
  const Factors f = factors();
  const torch::Tensor eye = torch::eye(f.l.size(0), f.l.options().dtype(torch::kDouble));
  const torch::Tensor l_inv =
      torch::linalg_solve_triangular(f.l.to(torch::kDouble), eye, /*upper=*/false, /*left=*/true,
                                     /*unitriangular=*/true);
  const torch::Tensor u_inv = torch::linalg_solve_triangular(f.u.to(torch::kDouble), eye, /*upper=*/true);
  return u_inv.matmul(l_inv).matmul(f.p.to(torch::kDouble).t());
}

torch::Tensor InvertibleConv1x1Impl::log_abs_det() const {
  if (lu_) return log_s_.sum();
  return std::get<1>(torch::linalg_slogdet(weight_.to(torch::kDouble))).to(weight_.scalar_type());
}

torch::Tensor InvertibleConv1x1Impl::mix(const torch::Tensor& x, const torch::Tensor& w) {
  if (x.dim() == 2) return x.matmul(w.t());
  return torch::conv2d(x, w.view({w.size(0), w.size(1), 1, 1}));
}

FlowResult InvertibleConv1x1Impl::forward(const torch::Tensor& x) {
  const torch::Tensor w = weight().to(x.scalar_type());
  return {mix(x, w), same_for_batch(log_abs_det().to(x.scalar_type()) * positions(x), x.size(0))};
}

FlowResult InvertibleConv1x1Impl::inverse(const torch::Tensor& y) {
  return {invert(y), same_for_batch(-log_abs_det().to(y.scalar_type()) * positions(y), y.size(0))};
}

torch::Tensor InvertibleConv1x1Impl::invert(const torch::Tensor& y) {
  return mix(y, inverse_weight().to(y.scalar_type()));
}

}  // namespace zoo::flows
