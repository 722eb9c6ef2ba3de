#include "train/gradient_sync.h"

#include "core/error.h"

namespace zoo::train {

GradientSync::GradientSync(std::shared_ptr<Distributed> group, std::vector<torch::Tensor> parameters,
                           int64_t bucket_bytes)
    : group_(std::move(group)) {
  std::vector<torch::Tensor> trained;
  for (const torch::Tensor& p : parameters)
    if (p.requires_grad()) trained.push_back(p);
  // Reverse registration order: the last layers' gradients come first in backward.
  for (auto p = trained.rbegin(); p != trained.rend(); ++p) {
    const int64_t bytes = p->numel() * static_cast<int64_t>(p->element_size());
    const bool fits = !buckets_.empty() && buckets_.back().buffer.numel() * p->element_size() + bytes <= bucket_bytes &&
                      buckets_.back().buffer.scalar_type() == p->scalar_type() &&
                      buckets_.back().buffer.device() == p->device();
    if (!fits) buckets_.push_back({torch::empty({0}, p->options()), {}, 0, false, {}});
    Bucket& bucket = buckets_.back();
    slots_.push_back({*p, buckets_.size() - 1, bucket.buffer.numel(), 0, false});
    bucket.slots.push_back(slots_.size() - 1);
    bucket.buffer = torch::empty({bucket.buffer.numel() + p->numel()}, p->options());
  }
  for (size_t i = 0; i < slots_.size(); ++i)
    slots_[i].hook =
        slots_[i].parameter.register_hook([this, i](const torch::Tensor& gradient) { on_gradient(i, gradient); });
}

GradientSync::~GradientSync() {
  for (Slot& slot : slots_) slot.parameter.remove_hook(slot.hook);
}

void GradientSync::start_step() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Slot& slot : slots_) slot.ready = false;
  for (Bucket& bucket : buckets_) bucket.ready = 0, bucket.sent = false, bucket.pending = {};
  next_bucket_ = 0;
}

void GradientSync::on_gradient(size_t index, const torch::Tensor& gradient) {
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& slot = slots_[index];
  Bucket& bucket = buckets_[slot.bucket];
  if (bucket.sent)
    throw Error("gradient of a parameter arrived twice in one step (two backward passes?)", ErrorKind::runtime);
  torch::NoGradGuard no_grad;
  bucket.buffer.narrow(0, slot.offset, slot.parameter.numel()).copy_(gradient.reshape({-1}));
  if (!slot.ready) slot.ready = true, ++bucket.ready;
  send_ready_buckets();
}

void GradientSync::send_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].ready == buckets_[next_bucket_].slots.size()) {
    Bucket& bucket = buckets_[next_bucket_++];
    bucket.sent = true;
    bucket.pending = group_->all_reduce_sum_async(bucket.buffer);
  }
}

void GradientSync::finish_step() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    torch::NoGradGuard no_grad;
    for (Slot& slot : slots_)
      if (!slot.ready) {
        buckets_[slot.bucket].buffer.narrow(0, slot.offset, slot.parameter.numel()).zero_();
        slot.ready = true;
        ++buckets_[slot.bucket].ready;
      }
    send_ready_buckets();
  }
  const double scale = 1.0 / static_cast<double>(group_->world_size());
  torch::NoGradGuard no_grad;
  for (Bucket& bucket : buckets_) {
    bucket.pending.wait();
    bucket.buffer.mul_(scale);
  }
  for (Slot& slot : slots_) {
    const torch::Tensor average =
        buckets_[slot.bucket].buffer.narrow(0, slot.offset, slot.parameter.numel()).view_as(slot.parameter);
    torch::Tensor& grad = slot.parameter.mutable_grad();
    if (grad.defined())
      grad.copy_(average);
    else
      grad = average.clone();
  }
}

namespace {

// Rank 0's values into `tensors` on every rank, one broadcast per dtype and device (the
// tensors packed into one flat buffer) rather than one per tensor.
void broadcast_coalesced(Distributed& group, const std::vector<torch::Tensor>& tensors) {
  if (!group.active()) return;
  torch::NoGradGuard no_grad;
  std::vector<bool> done(tensors.size(), false);
  for (size_t first = 0; first < tensors.size(); ++first) {
    if (done[first]) continue;
    std::vector<size_t> members;
    for (size_t i = first; i < tensors.size(); ++i)
      if (!done[i] && tensors[i].scalar_type() == tensors[first].scalar_type() &&
          tensors[i].device() == tensors[first].device())
        members.push_back(i), done[i] = true;
    std::vector<torch::Tensor> flat;
    for (size_t i : members) flat.push_back(tensors[i].reshape({-1}));
    torch::Tensor packed = torch::cat(flat);
    group.broadcast({packed}, 0);
    int64_t offset = 0;
    for (size_t i : members) {
      tensors[i].copy_(packed.narrow(0, offset, tensors[i].numel()).view_as(tensors[i]));
      offset += tensors[i].numel();
    }
  }
}

std::vector<torch::Tensor> buffers_of(torch::nn::Module& module) {
  std::vector<torch::Tensor> buffers;
  for (const auto& b : module.named_buffers()) buffers.push_back(b.value());
  return buffers;
}

}  // namespace

void broadcast_module_state(Distributed& group, torch::nn::Module& module) {
  std::vector<torch::Tensor> state = module.parameters();
  for (const torch::Tensor& b : buffers_of(module)) state.push_back(b);
  broadcast_coalesced(group, state);
}

void broadcast_module_buffers(Distributed& group, torch::nn::Module& module) {
  broadcast_coalesced(group, buffers_of(module));
}

}  // namespace zoo::train
