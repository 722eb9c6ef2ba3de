#pragma once
// The samples file the sampling executables write and evaluate_samples reads: a safetensors
// file with the tensor "samples" (in data space) and, for class-conditional samples, "labels".
#include <torch/torch.h>

#include <string>

namespace zoo::train {

struct SampleFile {
  torch::Tensor samples;  // float32
  torch::Tensor labels;   // int64 [N], or undefined
};

void write_sample_file(const std::string& path, const SampleFile& file);
// A file without "samples" is an input error that says which executables write one.
SampleFile read_sample_file(const std::string& path);

}  // namespace zoo::train
