#include "models/diffusion/reflow_pairs.h"

#include <cstdio>

#include "models/diffusion/generate.h"

namespace zoo::diffusion {

ReflowPairs draw_reflow_pairs(const DiffusionModel& source, const ReflowPairOptions& options) {
  GenerateOptions g;
  g.sampler = options.sampler;
  g.schedule = options.schedule;
  g.sampler_options.seed = options.seed;
  g.device = options.device;
  g.progress = "reflow pairs";
  ReflowPairs pairs;
  const int64_t classes = source.num_classes();
  if (classes > 0) pairs.labels = torch::arange(options.pairs, torch::kLong) % classes;
  std::fprintf(stderr, "reflow: drawing %lld pairs with %s ...\n", static_cast<long long>(options.pairs),
               options.sampler.c_str());
  const Generated generated = generate(source, options.pairs, pairs.labels, g);
  std::fprintf(stderr, "reflow: %lld NFE per pair, %.1f s\n", static_cast<long long>(generated.nfe), generated.seconds);
  pairs.noise = generated.noise.cpu();
  pairs.samples = generated.samples.cpu();
  return pairs;
}

}  // namespace zoo::diffusion
