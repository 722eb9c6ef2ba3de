#include "train/flow_io.h"

#include <algorithm>

#include "core/error.h"
#include "core/seed.h"
#include "models/nn/eval_mode.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"

namespace zoo::train {

Json flow_checkpoint_config(const flows::FlowModelImpl& model, const std::vector<std::string>& classes,
                            const std::string& data) {
  return {{"model", "flow"}, {"flow", model.config_json()}, {"classes", classes}, {"data", data}};
}

LoadedFlow load_flow(const std::string& checkpoint) {
  weights::ModelCheckpoint file = weights::read_checkpoint_of("flow", checkpoint, /*prefer_ema=*/false);
  const Json& saved = file.model_config;
  LoadedFlow loaded;
  loaded.model = flows::FlowModel(flows::flow_model_config_from_json(saved.at("flow")));
  weights::load_state_dict(*loaded.model, file.weights.tensors, /*strict=*/true);
  loaded.model->eval();
  loaded.data = saved.value("data", "");
  loaded.step = file.step;
  return loaded;
}

FlowEvaluation evaluate_flow(flows::FlowModelImpl& model, const data::Dataset& dataset, uint64_t seed,
                             int64_t batch_size, Distributed& group, int64_t limit) {
  const models::EvalMode eval(model);
  torch::NoGradGuard no_grad;
  const torch::Device device = model.parameters().front().device();
  const int64_t n = limit > 0 ? std::min(limit, dataset.size()) : dataset.size();
  const auto [first, last] = group.share(n);
  const auto& shape = model.config().shape;
  double total = 0;
  for (int64_t start = first; start < last; start += batch_size) {
    const int64_t end = std::min(last, start + batch_size);
    const torch::Tensor indices = torch::arange(start, end, torch::kLong);
    std::vector<torch::Tensor> examples;
    for (int64_t i = start; i < end; ++i) examples.push_back(dataset.get(i).input);
    const torch::Tensor x = torch::stack(examples).to(device);
    torch::Tensor log_prob;
    if (model.images()) {
      log_prob = model.log_prob(x, indexed_rand(shape, seed, Stream::dequantize, indices, device));
      total += flows::bits_per_dim(log_prob, model.dimensions()).sum().item<double>();
    } else {
      total += -model.log_prob(x).sum().item<double>();
    }
  }
  total = group.sum(torch::tensor(total, torch::kDouble)).item<double>();
  return {n > 0 ? total / static_cast<double>(n) : 0.0, n};
}

}  // namespace zoo::train
