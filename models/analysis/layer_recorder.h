#pragma once
// A per-thread record of the layers a forward pass runs, for model analysis (shapes,
// parameters, multiply-adds). LibTorch has no forward hooks, so zoo's layers call their
// Conv2d / BatchNorm2d / Linear through recorded_forward(), which runs the layer and, only
// while a LayerRecording is alive on this thread, appends what ran. Outside analysis the
// cost is one thread-local pointer test per layer call.
//
// Recording the real forward (rather than computing shapes from the config) means the
// report is right for any input size, padding mode or future block type, with no second
// description of the network to keep in sync; the price is one forward pass.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace zoo::models::analysis {

struct LayerRecord {
  const torch::nn::Module* module = nullptr;  // identifies the layer; name it with the model's named_modules()
  std::string type;                           // "Conv2d", "BatchNorm2d", "Linear"
  std::vector<int64_t> input_shape, output_shape;
  int64_t macs = 0;  // multiply-adds per example (conv and linear only, as the paper counts)
};

// Collects records on the current thread for its lifetime. Not nestable.
class LayerRecording {
 public:
  LayerRecording();
  ~LayerRecording();
  LayerRecording(const LayerRecording&) = delete;
  LayerRecording& operator=(const LayerRecording&) = delete;
  const std::vector<LayerRecord>& records() const { return records_; }

 private:
  friend void record(LayerRecord);
  std::vector<LayerRecord> records_;
};

bool recording();              // a LayerRecording is active on this thread
void record(LayerRecord rec);  // no-op unless recording()

// Run the layer; record it when recording.
torch::Tensor recorded_forward(torch::nn::Conv2dImpl& conv, const torch::Tensor& input);
torch::Tensor recorded_forward(torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& input);
torch::Tensor recorded_forward(torch::nn::LinearImpl& linear, const torch::Tensor& input);

}  // namespace zoo::models::analysis
