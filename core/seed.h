#pragma once
// Seeding. A run has one seed; every random stream is derived from it by hashing
// (seed, stream, index), so the randomness an example sees (its augmentation, its noise)
// depends on which example it is, never on batch size, worker count or device.
#include <torch/torch.h>

#include <cstdint>

namespace zoo {

// Seeds LibTorch's global CPU (and CUDA) generators.
void seed_everything(uint64_t seed);

// A well-mixed 64-bit seed for one (stream, index) of a run: splitmix64 over the three.
uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index);

// Named streams so that two uses of randomness never share a sequence by accident.
enum class Stream : uint64_t {
  shuffle = 1,
  augment = 2,
  dequantize = 3,
  noise = 4,
  model = 5,
  latent = 6,
  level = 7,
  brownian = 8  // the nodes of an SDE sampler's Brownian tree
};

// A private random source for one example: scalars and small tensors.
class SampleRng {
 public:
  SampleRng(uint64_t seed, Stream stream, uint64_t index);
  explicit SampleRng(uint64_t seed);
  uint64_t next_u64();
  double uniform();            // [0, 1)
  int64_t randint(int64_t n);  // [0, n)
  bool bernoulli(double p) { return uniform() < p; }
  torch::Tensor rand(at::IntArrayRef shape);   // float32 U[0, 1)
  torch::Tensor randn(at::IntArrayRef shape);  // float32 N(0, 1)

 private:
  at::Generator generator_;
};

// Gaussian noise for a batch whose k-th row belongs to example first_index + k: the same
// example gets the same noise however the batch is cut. Returned on `device`.
torch::Tensor per_sample_randn(at::IntArrayRef batch_shape, uint64_t seed, Stream stream, uint64_t first_index,
                               const torch::Device& device = torch::kCPU);

// Draws for the examples of a batch by their dataset indices [B]: row k comes from the
// stream (seed, stream, indices[k]) alone, so an example gets the same draw in any batch
// and on any rank of a data-parallel run. Normal / uniform [0, 1), float32 [B, ...sample_shape].
torch::Tensor indexed_randn(at::IntArrayRef sample_shape, uint64_t seed, Stream stream, const torch::Tensor& indices,
                            const torch::Device& device = torch::kCPU);
torch::Tensor indexed_rand(at::IntArrayRef sample_shape, uint64_t seed, Stream stream, const torch::Tensor& indices,
                           const torch::Device& device = torch::kCPU);

// The global generator's state, for checkpoints: a bit-exact resume restores it.
torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

// Runs `body` with the global CPU generator seeded from (seed, stream) and puts its state
// back afterwards: pictures drawn in the middle of a run then neither depend on nor change
// the run's own random sequence, so a resumed run continues exactly.
template <class Body>
auto with_stream_seed(uint64_t seed, Stream stream, Body&& body) {
  const torch::Tensor state = cpu_rng_state();
  torch::manual_seed(static_cast<int64_t>(derive_seed(seed, static_cast<uint64_t>(stream), 0)));
  struct Restore {
    const torch::Tensor& state;
    ~Restore() { set_cpu_rng_state(state); }
  } restore{state};
  return body();
}

}  // namespace zoo
