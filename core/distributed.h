#pragma once
// Data-parallel training on PyTorch's own distributed engine, c10d: a TCPStore rendezvous
// (rank 0 hosts it at MASTER_ADDR:MASTER_PORT) and ProcessGroupGloo for CPU tensors or
// ProcessGroupNCCL for CUDA tensors (where this LibTorch has them). No transport of our own.
//
// Processes are started the way PyTorch jobs are: by torchrun, or by zoo_launch, which set
//   RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
// in each worker's environment. Without WORLD_SIZE a program runs alone and every
// collective below is a no-op.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zoo {

struct DistributedOptions {
  int64_t rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // How long a collective (or the rendezvous) waits for the other processes before it
  // fails: what stops the survivors when a worker dies.
  double timeout_seconds = 1800;
  // Started by a launcher (WORLD_SIZE set): a group even of one process, so that
  // `zoo_launch --nproc 1` runs the real backend (one GPU through NCCL), as torchrun does.
  bool launched = false;
};

// From torchrun's variables (and ZOO_DIST_TIMEOUT, seconds); zoo::Error(usage) naming a
// variable with a bad value.
DistributedOptions distributed_options_from_environment();

class Distributed {
 public:
  // One process not started by a launcher: no group. Otherwise joins the group (blocking
  // until all have joined).
  // `device` picks the backend: Gloo for the CPU, NCCL for CUDA.
  static std::shared_ptr<Distributed> create(const DistributedOptions& options, const torch::Device& device);
  ~Distributed();

  int64_t rank() const { return options_.rank; }
  int64_t world_size() const { return options_.world_size; }
  bool main() const { return options_.rank == 0; }
  bool active() const { return group_ != nullptr; }
  const std::string& backend() const { return backend_; }

  // Collectives, in place, in the same order on every rank. A tensor the backend cannot
  // take where it is (a CPU tensor under NCCL) goes through a copy on the group's device.
  void all_reduce_sum(std::vector<torch::Tensor> tensors);
  void broadcast(std::vector<torch::Tensor> tensors, int64_t root = 0);
  void barrier();

  // Statistics added up over the ranks (alone: the tensor itself), on the tensor's device:
  // each rank evaluates its share() of a test split and sums its partial counts and totals
  // here.
  torch::Tensor sum(const torch::Tensor& partial);
  // [begin, end): this rank's contiguous share of n items (alone: all of them); shares
  // differ in size by at most one. A usage error when n is below the number of ranks.
  std::pair<int64_t, int64_t> share(int64_t n) const;

  // An all-reduce (sum) in flight: wait() before reading the tensor.
  class Pending {
   public:
    Pending() = default;
    void wait();

   private:
    friend class Distributed;
    std::shared_ptr<void> work_;
  };
  Pending all_reduce_sum_async(torch::Tensor tensor);

 private:
  struct Group;
  Distributed(DistributedOptions options, std::string backend, torch::Device device, std::unique_ptr<Group> group);

  DistributedOptions options_;
  std::string backend_;
  torch::Device device_;  // where the backend's collectives run
  std::unique_ptr<Group> group_;
};

}  // namespace zoo
