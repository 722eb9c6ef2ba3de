#include "core/seed.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

namespace zoo {

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

SampleRng::SampleRng(uint64_t seed) : generator_(at::detail::createCPUGenerator(seed)) {}

SampleRng::SampleRng(uint64_t seed, Stream stream, uint64_t index)
    : SampleRng(derive_seed(seed, static_cast<uint64_t>(stream), index)) {}

uint64_t SampleRng::next_u64() {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  return generator_.get<at::CPUGeneratorImpl>()->random64();
}

double SampleRng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

int64_t SampleRng::randint(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }

torch::Tensor SampleRng::rand(at::IntArrayRef shape) { return torch::rand(shape, generator_, torch::kFloat); }

torch::Tensor SampleRng::randn(at::IntArrayRef shape) { return torch::randn(shape, generator_, torch::kFloat); }

torch::Tensor per_sample_randn(at::IntArrayRef batch_shape, uint64_t seed, Stream stream, uint64_t first_index,
                               const torch::Device& device) {
  const at::IntArrayRef sample_shape = batch_shape.slice(1);
  std::vector<torch::Tensor> rows;
  rows.reserve(static_cast<size_t>(batch_shape[0]));
  for (int64_t k = 0; k < batch_shape[0]; ++k)
    rows.push_back(SampleRng(seed, stream, first_index + static_cast<uint64_t>(k)).randn(sample_shape));
  return torch::stack(rows).to(device);
}

torch::Tensor cpu_rng_state() {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace zoo
