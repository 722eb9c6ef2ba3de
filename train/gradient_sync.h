#pragma once
// Data-parallel gradient averaging that overlaps with the backward pass, the way PyTorch's
// DistributedDataParallel does it: parameters are packed into buckets of about 25 MB in
// reverse registration order (roughly the order backward produces their gradients); a hook
// on each parameter copies its gradient into its bucket as soon as it is computed, and a
// full bucket goes out as one asynchronous all-reduce while backward goes on. Buckets go
// out strictly in index order, so every rank issues the same sequence of collectives.
// After backward, finish_step() sends what is left (a parameter that got no gradient
// contributes zeros), waits, and writes the average over the ranks into each .grad.
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <vector>

#include "core/distributed.h"

namespace zoo::train {

class GradientSync {
 public:
  GradientSync(std::shared_ptr<Distributed> group, std::vector<torch::Tensor> parameters,
               int64_t bucket_bytes = 25 << 20);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  void start_step();   // before backward
  void finish_step();  // after backward, before clipping and the optimizer step

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Slot {
    torch::Tensor parameter;
    size_t bucket;
    int64_t offset;
    unsigned hook;
    bool ready = false;
  };
  struct Bucket {
    torch::Tensor buffer;  // flat, the parameters' dtype and device
    std::vector<size_t> slots;
    size_t ready = 0;
    bool sent = false;
    Distributed::Pending pending;
  };
  void on_gradient(size_t slot, const torch::Tensor& gradient);
  void send_ready_buckets();  // under mutex_

  std::shared_ptr<Distributed> group_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  size_t next_bucket_ = 0;
  std::mutex mutex_;
};

// Copies rank 0's parameters and buffers to every rank: at the start, and after the first
// step so data-dependent initialisation (actnorm) agrees everywhere.
void broadcast_module_state(Distributed& group, torch::nn::Module& module);
// Copies rank 0's buffers (BatchNorm running statistics) to every rank, before every step as
// DDP's broadcast_buffers does, so ranks whose layers see only their own batch still agree.
void broadcast_module_buffers(Distributed& group, torch::nn::Module& module);

}  // namespace zoo::train
