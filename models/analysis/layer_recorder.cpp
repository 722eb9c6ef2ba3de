#include "models/analysis/layer_recorder.h"

#include "core/error.h"

namespace zoo::models::analysis {
namespace {

thread_local LayerRecording* active = nullptr;

std::vector<int64_t> shape_of(const torch::Tensor& t) { return t.sizes().vec(); }

// Everything but the batch dimension.
int64_t per_example(const torch::Tensor& t) { return t.dim() == 0 || t.size(0) == 0 ? 0 : t.numel() / t.size(0); }

}  // namespace

LayerRecording::LayerRecording() {
  if (active) throw Error("layer recordings cannot be nested", ErrorKind::runtime);
  active = this;
}

LayerRecording::~LayerRecording() { active = nullptr; }

bool recording() { return active != nullptr; }

void record(LayerRecord rec) {
  if (active) active->records_.push_back(std::move(rec));
}

torch::Tensor recorded_forward(torch::nn::Conv2dImpl& conv, const torch::Tensor& input) {
  torch::Tensor output = conv.forward(input);
  if (active) {
    const auto& o = conv.options;
    const auto& k = *o.kernel_size();
    // Each output element costs k_h·k_w·(C_in/groups) multiply-adds.
    const int64_t macs = per_example(output) * k[0] * k[1] * (o.in_channels() / o.groups());
    record({&conv, "Conv2d", shape_of(input), shape_of(output), macs});
  }
  return output;
}

torch::Tensor recorded_forward(torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& input) {
  torch::Tensor output = norm.forward(input);
  if (active) record({&norm, "BatchNorm2d", shape_of(input), shape_of(output), 0});
  return output;
}

torch::Tensor recorded_forward(torch::nn::LinearImpl& linear, const torch::Tensor& input) {
  torch::Tensor output = linear.forward(input);
  if (active)
    record({&linear, "Linear", shape_of(input), shape_of(output), per_example(output) * linear.options.in_features()});
  return output;
}

}  // namespace zoo::models::analysis
