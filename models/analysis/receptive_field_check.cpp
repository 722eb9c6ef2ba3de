#include "models/analysis/receptive_field_check.h"

#include <torch/torch.h>

#include "core/error.h"
#include "models/nn/same_padding.h"

namespace zoo::models::analysis {

namespace F = torch::nn::functional;

namespace {

// Zero padding (left, right, top, bottom) as the layer's window asks, "same" resolved here.
torch::Tensor pad(const torch::Tensor& x, const LayerNode& node) {
  std::array<std::array<int64_t, 2>, 2> p{};
  for (int a = 0; a < 2; ++a) {
    const AxisWindow& w = node.window[a];
    if (node.same_padding) {
      const int64_t total = same_padding_amount(x.size(2 + a), w.kernel, w.stride, w.dilation);
      p[a] = {total / 2, total - total / 2};
    } else {
      p[a] = {w.pad_before, w.pad_after};
    }
  }
  return F::pad(x, F::PadFuncOptions({p[1][0], p[1][1], p[0][0], p[0][1]}));
}

torch::Tensor averaging_conv(const torch::Tensor& x, const LayerNode& node) {
  const AxisWindow &h = node.window[0], &w = node.window[1];
  const torch::Tensor kernel =
      torch::full({1, 1, h.kernel, w.kernel}, 1.0 / static_cast<double>(h.kernel * w.kernel), x.options());
  return F::conv2d(pad(x, node), kernel,
                   F::Conv2dFuncOptions().stride({h.stride, w.stride}).dilation({h.dilation, w.dilation}));
}

torch::Tensor run(const LayerNode& node, const std::vector<torch::Tensor>& maps, bool global_context) {
  const torch::Tensor& x = maps.at(node.inputs.empty() ? 0 : node.inputs[0]);
  const AxisWindow &h = node.window[0], &w = node.window[1];
  switch (node.op) {
    case LayerOp::input: return x;
    case LayerOp::conv: return averaging_conv(x, node);
    case LayerOp::pad: return pad(x, node);
    case LayerOp::max_pool:
    case LayerOp::avg_pool: {
      // PyTorch's pooling, for its output-size rule (ceil_mode counts only leading padding).
      const bool symmetric = h.pad_before == h.pad_after && w.pad_before == w.pad_after && !node.same_padding;
      if (symmetric && h.dilation == 1 && w.dilation == 1 && 2 * h.pad_before <= h.kernel &&
          2 * w.pad_before <= w.kernel)
        return F::avg_pool2d(x, F::AvgPool2dFuncOptions({h.kernel, w.kernel})
                                    .stride({h.stride, w.stride})
                                    .padding({h.pad_before, w.pad_before})
                                    .ceil_mode(node.ceil_mode));
      if (node.ceil_mode)
        throw Error("layer " + node.name + ": the check cannot run a dilated or asymmetric ceil-mode pooling");
      return averaging_conv(x, node);
    }
    case LayerOp::adaptive_pool:
      return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({node.output_size[0], node.output_size[1]}));
    case LayerOp::upsample: {
      auto options = F::InterpolateFuncOptions().scale_factor(std::vector<double>{node.scale[0], node.scale[1]});
      if (node.bilinear)
        options.mode(torch::kBilinear).align_corners(false);
      else
        options.mode(torch::kNearest);
      return F::interpolate(x, options);
    }
    case LayerOp::merge:
    case LayerOp::concat: {
      // The sum keeps the largest map's size; 1×1 maps broadcast over it.
      size_t largest = 0;
      for (size_t k = 1; k < node.inputs.size(); ++k)
        if (maps.at(node.inputs[k]).numel() > maps.at(node.inputs[largest]).numel()) largest = k;
      torch::Tensor sum = maps.at(node.inputs[largest]);
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const torch::Tensor& m = maps.at(node.inputs[k]);
        const bool broadcast = m.size(2) * m.size(3) == 1 && sum.size(2) * sum.size(3) > 1;
        if (k == largest || (broadcast && !global_context)) continue;
        sum = sum + m;
      }
      return sum;
    }
  }
  return x;
}

}  // namespace

std::array<std::array<int64_t, 2>, 2> empirical_region(const LayerGraph& graph, std::array<int64_t, 2> input_size,
                                                       int layer, bool global_context) {
  torch::AutoGradMode grad(true);
  const torch::Tensor image =
      torch::ones({1, 1, input_size[0], input_size[1]}, torch::TensorOptions().dtype(torch::kFloat64)).requires_grad_();
  std::vector<torch::Tensor> maps;
  maps.push_back(image);
  for (int i = 1; i <= layer; ++i) maps.push_back(run(graph.nodes.at(i), maps, global_context));
  const torch::Tensor& out = maps.at(layer);
  out.index({0, 0, (out.size(2) - 1) / 2, (out.size(3) - 1) / 2}).backward();
  const torch::Tensor seen = image.grad()[0][0] != 0;
  std::array<std::array<int64_t, 2>, 2> region{};
  for (int a = 0; a < 2; ++a) {
    const torch::Tensor along = torch::nonzero(seen.any(1 - a)).flatten();
    region[a] = {along.min().item<int64_t>(), along.max().item<int64_t>()};
  }
  return region;
}

}  // namespace zoo::models::analysis
