#include "core/runtime.h"

#include <malloc.h>

#include <algorithm>
#include <limits>

#include "core/device.h"
#include "core/error.h"
#include "core/seed.h"

namespace zoo {

namespace {
// glibc gives the top of its heap back to the kernel whenever more than 128 KB of it is free,
// and serves large blocks with fresh mmaps, so training steps keep growing the heap again and
// the kernel faults in and zeroes the pages of their activations anew: in a two-process
// EfficientNet run here 17% of the CPU time was the kernel's. Keeping up to 1 GB of freed heap,
// growing it in 256 MB steps and serving blocks up to 32 MB (glibc's largest mmap threshold)
// from it cut that to 6% and the wall time by 5–20% (what jemalloc or tcmalloc, which
// PyTorch's performance guide suggests, also achieve). The mmap threshold must be set with
// the others: setting any of them turns off glibc's self-adjusting threshold, and NICE's
// 4 MB tensors were then mmapped on every step (30% slower).
void keep_freed_heap() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
}
}  // namespace

Runtime setup_runtime(const CommonOptions& options) {
  keep_freed_heap();
  Runtime runtime;
  runtime.device = parse_device(options.device);
  runtime.threads =
      configure_threads(static_cast<int>(std::clamp<int64_t>(options.threads, -1, std::numeric_limits<int>::max())));
  runtime.seed = static_cast<uint64_t>(options.seed);
  seed_everything(runtime.seed);
  return runtime;
}

}  // namespace zoo
