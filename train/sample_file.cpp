#include "train/sample_file.h"

#include "core/error.h"
#include "weights/safetensors.h"

namespace zoo::train {

void write_sample_file(const std::string& path, const SampleFile& file) {
  weights::NamedTensors tensors{{"samples", file.samples.contiguous()}};
  if (file.labels.defined()) tensors.emplace_back("labels", file.labels);
  weights::write_safetensors(path, tensors);
}

SampleFile read_sample_file(const std::string& path) {
  const weights::SafeTensors tensors = weights::read_safetensors(path);
  const torch::Tensor* samples = tensors.find("samples");
  if (!samples)
    throw Error(path + ": no tensor 'samples' (write it with sample_diffusion, compare_samplers or sample_flow)",
                ErrorKind::input);
  const torch::Tensor* labels = tensors.find("labels");
  return {samples->to(torch::kFloat), labels ? labels->to(torch::kLong) : torch::Tensor()};
}

}  // namespace zoo::train
