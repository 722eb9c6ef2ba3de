#include "data/statistics.h"

namespace zoo::data {

ChannelStats channel_stats(const Dataset& dataset, int64_t max_examples,
                           const std::function<void(const Example&)>& visit) {
  const auto& shape = dataset.info().shape;
  const int64_t channels = shape.empty() ? 1 : shape.front();
  const int64_t count = max_examples < 0 ? dataset.size() : std::min(dataset.size(), max_examples);
  torch::Tensor sum = torch::zeros({channels}, torch::kDouble), squares = torch::zeros({channels}, torch::kDouble);
  int64_t values = 0;
  for (int64_t i = 0; i < count; ++i) {
    const Example example = dataset.get(i);
    const torch::Tensor x = example.input.to(torch::kDouble).reshape({channels, -1});
    sum += x.sum(1);
    squares += x.square().sum(1);
    values += x.size(1);
    if (visit) visit(example);
  }
  const torch::Tensor mean = sum / static_cast<double>(values);
  const torch::Tensor std = (squares / static_cast<double>(values) - mean.square()).clamp_min(0).sqrt();
  auto as_vector = [](const torch::Tensor& t) {
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  };
  return {as_vector(mean), as_vector(std)};
}

}  // namespace zoo::data
