#include "models/flows/transform.h"

#include <string>

namespace zoo::flows {

torch::Tensor sum_per_example(const torch::Tensor& per_element) { return per_element.flatten(1).sum(1); }

int64_t positions(const torch::Tensor& x) { return x.dim() == 4 ? x.size(2) * x.size(3) : 1; }

torch::Tensor same_for_batch(const torch::Tensor& value, int64_t batch) { return value.expand({batch}); }

SequentialTransformImpl::SequentialTransformImpl(std::vector<TransformPtr> transforms)
    : transforms_(std::move(transforms)) {
  for (size_t i = 0; i < transforms_.size(); ++i) register_module(std::to_string(i), transforms_[i]);
}

FlowResult SequentialTransformImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  torch::Tensor log_det = torch::zeros({x.size(0)}, x.options());
  for (const TransformPtr& t : transforms_) {
    FlowResult r = t->forward(h);
    h = r.output;
    log_det = log_det + r.log_det;
  }
  return {h, log_det};
}

FlowResult SequentialTransformImpl::inverse(const torch::Tensor& y) {
  torch::Tensor h = y;
  torch::Tensor log_det = torch::zeros({y.size(0)}, y.options());
  for (auto it = transforms_.rbegin(); it != transforms_.rend(); ++it) {
    FlowResult r = (*it)->inverse(h);
    h = r.output;
    log_det = log_det + r.log_det;
  }
  return {h, log_det};
}

torch::Tensor SequentialTransformImpl::invert(const torch::Tensor& y) {
  torch::Tensor h = y;
  for (auto it = transforms_.rbegin(); it != transforms_.rend(); ++it) h = (*it)->invert(h);
  return h;
}

}  // namespace zoo::flows
