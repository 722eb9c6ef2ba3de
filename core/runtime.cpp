#include "core/runtime.h"

#include "core/device.h"
#include "core/error.h"
#include "core/seed.h"

namespace zoo {

Runtime setup_runtime(const Json& options) {
  Runtime runtime;
  runtime.device = parse_device(options.at("device").get<std::string>());
  runtime.threads = configure_threads(static_cast<int>(options.at("threads").get<int64_t>()));
  const int64_t seed = options.at("seed").get<int64_t>();
  if (seed < 0) throw Error("--seed must be non-negative", ErrorKind::usage);
  runtime.seed = static_cast<uint64_t>(seed);
  seed_everything(runtime.seed);
  return runtime;
}

}  // namespace zoo
