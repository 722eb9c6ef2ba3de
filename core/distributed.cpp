#include "core/distributed.h"

#include <chrono>
#include <cstdlib>
#include <functional>

#include "core/error.h"
#include "core/shard.h"

#include <torch/version.h>

#if defined(ZOO_HAVE_GLOO)
#ifndef USE_C10D_GLOO  // LibTorch's CMake config may define it already
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(ZOO_HAVE_NCCL)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
// ProcessGroupNCCL from PyTorch 2.4 on warns when it is destroyed without shutdown(), the
// call destroy_process_group() makes in Python; it has had shutdown() since 2.2.
#define ZOO_NCCL_NEEDS_SHUTDOWN (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace zoo {
namespace {

int64_t environment_integer(const char* name, int64_t fallback, int64_t minimum) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < minimum)
    throw Error(std::string("environment variable ") + name + "=" + text + ": expected an integer of at least " +
                    std::to_string(minimum),
                ErrorKind::usage);
  return value;
}

}  // namespace

// The backend behind one interface: ProcessGroupGloo and ProcessGroupNCCL share no base
// class across LibTorch versions (ProcessGroup in 1.13, Backend in 2.x), their calls do.
struct Distributed::Group {
  c10::intrusive_ptr<c10d::Store> store;
  std::function<c10::intrusive_ptr<c10d::Work>(std::vector<at::Tensor>&)> all_reduce;
  std::function<c10::intrusive_ptr<c10d::Work>(std::vector<at::Tensor>&, int64_t)> broadcast;
  std::function<c10::intrusive_ptr<c10d::Work>()> barrier;
  std::function<void()> shutdown;  // where the backend wants one before it is destroyed

  ~Group() {
    try {
      if (shutdown) shutdown();
    } catch (const std::exception&) {
      // The group is going away with the process; a failed shutdown changes nothing.
    }
  }

  // `barrier_options` name the device a barrier runs on: NCCL otherwise guesses it from
  // the rank (and says so), which is wrong where ranks and GPUs are not numbered alike.
  template <class Backend>
  void bind(c10::intrusive_ptr<Backend> backend, c10d::BarrierOptions barrier_options = {}) {
    all_reduce = [backend](std::vector<at::Tensor>& t) { return backend->allreduce(t, c10d::AllreduceOptions()); };
    broadcast = [backend](std::vector<at::Tensor>& t, int64_t root) {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      return backend->broadcast(t, o);
    };
    barrier = [backend, barrier_options] { return backend->barrier(barrier_options); };
  }
};

DistributedOptions distributed_options_from_environment() {
  DistributedOptions o;
  o.world_size = environment_integer("WORLD_SIZE", 1, 1);
  o.rank = environment_integer("RANK", 0, 0);
  o.local_rank = environment_integer("LOCAL_RANK", o.rank, 0);
  o.master_port = environment_integer("MASTER_PORT", 29500, 1);
  o.timeout_seconds = static_cast<double>(environment_integer("ZOO_DIST_TIMEOUT", 1800, 1));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) o.master_addr = addr;
  if (const char* world = std::getenv("WORLD_SIZE"); world && *world) o.launched = true;
  if (o.rank >= o.world_size)
    throw Error("RANK=" + std::to_string(o.rank) + " must be below WORLD_SIZE=" + std::to_string(o.world_size),
                ErrorKind::usage);
  if (o.master_port > 65535)
    throw Error("MASTER_PORT=" + std::to_string(o.master_port) + ": not a port", ErrorKind::usage);
  return o;
}

Distributed::Distributed(DistributedOptions options, std::string backend, torch::Device device,
                         std::unique_ptr<Group> group)
    : options_(std::move(options)), backend_(std::move(backend)), device_(device), group_(std::move(group)) {}

Distributed::~Distributed() = default;

std::shared_ptr<Distributed> Distributed::create(const DistributedOptions& o, const torch::Device& device) {
  if (o.world_size <= 1 && !o.launched)
    return std::shared_ptr<Distributed>(new Distributed(o, "none", device, nullptr));
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000));
  auto group = std::make_unique<Group>();
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(o.master_port);
    store_options.isServer = o.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(o.world_size);
    store_options.timeout = timeout;
    group->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, store_options);
  } catch (const std::exception& e) {
    throw Error("distributed rendezvous at " + o.master_addr + ":" + std::to_string(o.master_port) + " (rank " +
                std::to_string(o.rank) + " of " + std::to_string(o.world_size) + ") failed: " + first_line(e));
  }
  std::string backend;
  if (device.is_cuda()) {
#if defined(ZOO_HAVE_NCCL)
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(group->store, static_cast<int>(o.rank),
                                                            static_cast<int>(o.world_size), options);
    c10d::BarrierOptions barrier_options;
    barrier_options.device_ids = {device.has_index() ? device.index() : 0};
    group->bind(nccl, barrier_options);
#if ZOO_NCCL_NEEDS_SHUTDOWN
    group->shutdown = [nccl] { nccl->shutdown(); };
#endif
    backend = "nccl";
#else
    throw Error(
        "this build of zoo has no NCCL: distributed training on CUDA needs LibTorch with NCCL and nccl.h at build "
        "time");
#endif
  } else {
#if defined(ZOO_HAVE_GLOO)
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    group->bind(c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, static_cast<int>(o.rank),
                                                            static_cast<int>(o.world_size), options));
    backend = "gloo";
#else
    throw Error(
        "this build of zoo has no Gloo: distributed training on the CPU needs LibTorch with Gloo and the gloo "
        "headers (Debian: libgloo-dev) at build time");
#endif
  }
  return std::shared_ptr<Distributed>(new Distributed(o, backend, device, std::move(group)));
}

void Distributed::Pending::wait() {
  if (work_) (*static_cast<c10::intrusive_ptr<c10d::Work>*>(work_.get()))->wait();
}

Distributed::Pending Distributed::all_reduce_sum_async(torch::Tensor tensor) {
  Pending pending;
  if (!active()) return pending;
  std::vector<at::Tensor> tensors{std::move(tensor)};
  pending.work_ = std::make_shared<c10::intrusive_ptr<c10d::Work>>(group_->all_reduce(tensors));
  return pending;
}

namespace {
// Runs `collective` on `t` where the backend can take it (NCCL: CUDA tensors only) and
// writes the result back into `t`.
void on_device(torch::Tensor& t, const torch::Device& device,
               const std::function<void(std::vector<at::Tensor>&)>& collective) {
  std::vector<at::Tensor> one{t.device() == device && t.is_contiguous() ? t : t.to(device, false, true).contiguous()};
  collective(one);
  if (!one[0].is_same(t)) t.copy_(one[0]);
}
}  // namespace

void Distributed::all_reduce_sum(std::vector<torch::Tensor> tensors) {
  if (!active() || tensors.empty()) return;
  // One collective per tensor, in order: every rank issues the same sequence.
  for (torch::Tensor& t : tensors)
    on_device(t, device_, [&](std::vector<at::Tensor>& one) { group_->all_reduce(one)->wait(); });
}

void Distributed::broadcast(std::vector<torch::Tensor> tensors, int64_t root) {
  if (!active()) return;
  for (torch::Tensor& t : tensors)
    on_device(t, device_, [&](std::vector<at::Tensor>& one) { group_->broadcast(one, root)->wait(); });
}

void Distributed::barrier() {
  if (active()) group_->barrier()->wait();
}

torch::Tensor Distributed::sum(const torch::Tensor& partial) {
  if (!active()) return partial;
  torch::Tensor total = partial.clone();
  all_reduce_sum({total});
  return total;
}

std::pair<int64_t, int64_t> Distributed::share(int64_t n) const { return contiguous_share(n, rank(), world_size()); }

}  // namespace zoo
