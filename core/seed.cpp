#include "core/seed.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
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

namespace {

// A counter-based draw: the j-th 64 bits of an example's stream are splitmix64 of its key
// and j, so no generator has to be built per example (that would cost more than a small
// network's step).
double counter_uniform(uint64_t key, uint64_t counter) {
  return static_cast<double>(splitmix64(key ^ (counter * 0xD1B54A32D192ED03ull)) >> 11) * 0x1.0p-53;
}

// Values [B, ...sample_shape]; fill(key, out, n) writes the n values of one example.
torch::Tensor indexed_draws(at::IntArrayRef sample_shape, uint64_t seed, Stream stream, const torch::Tensor& indices,
                            const torch::Device& device, const std::function<void(uint64_t, float*, int64_t)>& fill) {
  const torch::Tensor index = indices.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<int64_t> shape = {index.numel()};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  torch::Tensor out = torch::empty(shape, torch::kFloat);
  const int64_t per = index.numel() > 0 ? out.numel() / index.numel() : 0;
  for (int64_t k = 0; k < index.numel(); ++k)
    fill(derive_seed(seed, static_cast<uint64_t>(stream), static_cast<uint64_t>(index.data_ptr<int64_t>()[k])),
         out.data_ptr<float>() + k * per, per);
  return out.to(device);
}

}  // namespace

torch::Tensor indexed_randn(at::IntArrayRef sample_shape, uint64_t seed, Stream stream, const torch::Tensor& indices,
                            const torch::Device& device) {
  return indexed_draws(sample_shape, seed, stream, indices, device, [](uint64_t key, float* out, int64_t n) {
    // Box–Muller: two uniforms (the first in (0, 1]) give two independent normals.
    for (int64_t j = 0; j < n; j += 2) {
      const double radius = std::sqrt(-2 * std::log(1 - counter_uniform(key, static_cast<uint64_t>(j))));
      const double angle = 2 * M_PI * counter_uniform(key, static_cast<uint64_t>(j + 1));
      out[j] = static_cast<float>(radius * std::cos(angle));
      if (j + 1 < n) out[j + 1] = static_cast<float>(radius * std::sin(angle));
    }
  });
}

torch::Tensor per_sample_randn(at::IntArrayRef batch_shape, uint64_t seed, Stream stream, uint64_t first_index,
                               const torch::Device& device) {
  const auto first = static_cast<int64_t>(first_index);
  return indexed_randn(batch_shape.slice(1), seed, stream, torch::arange(first, first + batch_shape[0], torch::kLong),
                       device);
}

torch::Tensor indexed_rand(at::IntArrayRef sample_shape, uint64_t seed, Stream stream, const torch::Tensor& indices,
                           const torch::Device& device) {
  return indexed_draws(sample_shape, seed, stream, indices, device, [](uint64_t key, float* out, int64_t n) {
    for (int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(counter_uniform(key, static_cast<uint64_t>(j)));
  });
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
