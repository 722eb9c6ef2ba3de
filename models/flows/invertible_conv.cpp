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

torch::Tensor InvertibleConv1x1Impl::weight() const {
  if (!lu_) return weight_;
  const int64_t c = lower_.size(0);
  const torch::Tensor eye = torch::eye(c, lower_.options());
  // The masks keep the optimiser's updates from leaking outside the triangles.
  const torch::Tensor l = lower_.tril(-1) + eye;
  const torch::Tensor u = upper_.triu(1) + torch::diag(sign_s_ * log_s_.exp());
  return permutation_.matmul(l).matmul(u);
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
  // Inverted in float64: float32 inverses of a long chain of these drift visibly.
  const torch::Tensor w_inv = torch::inverse(weight().to(torch::kDouble)).to(y.scalar_type());
  return {mix(y, w_inv), same_for_batch(-log_abs_det().to(y.scalar_type()) * positions(y), y.size(0))};
}

}  // namespace zoo::flows
