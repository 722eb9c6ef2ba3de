#include "models/nn/packed_conv.h"

#include "core/error.h"
#include "zoo/build_config.h"

#if ZOO_HAVE_ONEDNN
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>

#include <dnnl.hpp>

#include "core/autocast.h"
#endif

namespace zoo::models {

bool PackedConv::fuses(const std::string& activation) {
  return activation == "identity" || activation == "silu" || activation == "relu";
}

#if ZOO_HAVE_ONEDNN
namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The dtype to compute in: bfloat16 for bfloat16 inputs and under CPU autocast to bfloat16.
torch::ScalarType computing_dtype(const torch::Tensor& input) {
  const bool bf16 = input.scalar_type() == torch::kBFloat16 ||
                    (at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == torch::kBFloat16);
  return bf16 ? torch::kBFloat16 : torch::kFloat;
}

}  // namespace

struct PackedConv::Plan {
  dnnl::convolution_forward primitive;
  memory::desc src, dst;
  memory weights, bias;
  std::vector<int64_t> output_sizes;
  int addend_index = -1;  // the binary post-op's position, where there is one
};

PackedConv::PackedConv(const torch::Tensor& weight, const torch::Tensor& bias, const PackedConvOptions& options)
    : weight_(weight.detach().to(torch::kFloat).clone(torch::MemoryFormat::Contiguous)),
      bias_(bias.detach().to(torch::kFloat).clone(torch::MemoryFormat::Contiguous)),
      options_(options) {
  if (weight_.dim() != 4 || bias_.dim() != 1 || bias_.size(0) != weight_.size(0))
    throw Error("packed convolution: expected a 4-D weight and a bias per output channel");
  if (!fuses(options_.activation())) throw Error("packed convolution: cannot fuse activation " + options_.activation());
}

PackedConv::~PackedConv() = default;

bool PackedConv::accepts(const torch::Tensor& input) {
  return input.defined() && input.device().is_cpu() && input.dim() == 4 &&
         (input.scalar_type() == torch::kFloat || input.scalar_type() == torch::kBFloat16);
}

PackedConv::Plan& PackedConv::plan(const torch::Tensor& input, bool with_addend) {
  const bool bf16 = input.scalar_type() == torch::kBFloat16;
  std::vector<int64_t> key = input.sizes().vec();
  key.insert(key.end(), {with_addend, bf16});
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = plans_.find(key);
  if (found != plans_.end()) return *found->second;

  const int64_t groups = options_.groups(), out = weight_.size(0), kh = weight_.size(2), kw = weight_.size(3);
  const int64_t n = input.size(0), in = input.size(1), h = input.size(2), w = input.size(3);
  if (in != weight_.size(1) * groups)
    throw Error("packed convolution: input has " + std::to_string(in) + " channels, the weights expect " +
                std::to_string(weight_.size(1) * groups));
  const int64_t s = options_.stride(), p = options_.padding(), d = options_.dilation();
  const int64_t oh = (h + 2 * p - d * (kh - 1) - 1) / s + 1, ow = (w + 2 * p - d * (kw - 1) - 1) / s + 1;
  if (oh < 1 || ow < 1)
    throw Error("packed convolution: input " + std::to_string(h) + "×" + std::to_string(w) +
                " is smaller than the kernel");

  auto plan = std::make_unique<Plan>();
  using tag = memory::format_tag;
  const memory::data_type type = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  plan->src = memory::desc({n, in, h, w}, type, tag::nhwc);
  plan->dst = memory::desc({n, out, oh, ow}, type, tag::nhwc);
  plan->output_sizes = {n, out, oh, ow};
  const memory::dims weight_dims =
      groups == 1 ? memory::dims{out, in, kh, kw} : memory::dims{groups, out / groups, in / groups, kh, kw};
  const memory::desc any_weights(weight_dims, type, tag::any);
  const memory::desc bias_desc({out}, memory::data_type::f32, tag::x);

  dnnl::post_ops post_ops;
  if (options_.activation() == "silu")
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
  else if (options_.activation() == "relu")
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (with_addend) {
    plan->addend_index = post_ops.len();
    post_ops.append_binary(dnnl::algorithm::binary_add, plan->dst);
  }
  dnnl::primitive_attr attributes;
  attributes.set_post_ops(post_ops);

  const dnnl::convolution_forward::desc description(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, plan->src, any_weights,
                                                    bias_desc, plan->dst, {s, s}, {d - 1, d - 1}, {p, p}, {p, p});
  const dnnl::convolution_forward::primitive_desc primitive(description, attributes, cpu_engine());
  plan->primitive = dnnl::convolution_forward(primitive);

  // The weights, once, in the layout (and dtype) this primitive reads fastest.
  const memory::desc plain_weights(weight_dims, memory::data_type::f32, groups == 1 ? tag::oihw : tag::goihw);
  memory user_weights(plain_weights, cpu_engine(), weight_.data_ptr());
  plan->weights = memory(primitive.weights_desc(), cpu_engine());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(user_weights, plan->weights).execute(stream, user_weights, plan->weights);
  stream.wait();
  plan->bias = memory(bias_desc, cpu_engine(), bias_.data_ptr());
  return *plans_.emplace(std::move(key), std::move(plan)).first->second;
}

torch::Tensor PackedConv::forward(const torch::Tensor& given_input, const torch::Tensor& given_addend) {
  if (!accepts(given_input)) throw Error("packed convolution: the input must be a 4-D float32 or bfloat16 CPU tensor");
  RECORD_FUNCTION("zoo::packed_conv", std::vector<c10::IValue>());  // for LibTorch's profiler
  const torch::ScalarType dtype = computing_dtype(given_input);
  if (dtype == torch::kBFloat16 && !cpu_has_bf16())
    throw Error("packed convolution: bfloat16 needs a CPU with bfloat16 arithmetic (AVX512-BF16)");
  // No-ops past a network's first convolution, whose outputs are already channels-last.
  const torch::Tensor input = given_input.to(dtype).contiguous(torch::MemoryFormat::ChannelsLast);
  Plan& p = plan(input, given_addend.defined());
  torch::Tensor output = torch::empty(p.output_sizes, input.options().memory_format(torch::MemoryFormat::ChannelsLast));
  std::unordered_map<int, memory> arguments{{DNNL_ARG_SRC, memory(p.src, cpu_engine(), input.data_ptr())},
                                            {DNNL_ARG_WEIGHTS, p.weights},
                                            {DNNL_ARG_BIAS, p.bias},
                                            {DNNL_ARG_DST, memory(p.dst, cpu_engine(), output.data_ptr())}};
  torch::Tensor addend;
  if (given_addend.defined()) {
    if (given_addend.sizes() != output.sizes() || !accepts(given_addend))
      throw Error("packed convolution: the addend must be a float32 or bfloat16 tensor of the output's shape");
    addend = given_addend.to(dtype).contiguous(torch::MemoryFormat::ChannelsLast);
    arguments.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.addend_index) | DNNL_ARG_SRC_1,
                      memory(p.dst, cpu_engine(), addend.data_ptr()));
  }
  dnnl::stream stream(cpu_engine());
  p.primitive.execute(stream, arguments);
  stream.wait();
  return output;
}

#else
// Built without oneDNN (ZOO_WITH_ONEDNN=OFF): no input is accepted, so callers run ATen's
// convolutions.
struct PackedConv::Plan {};

namespace {

[[noreturn]] void built_without_onednn() {
  throw Error("packed convolution: zoo was built without oneDNN (ZOO_WITH_ONEDNN=OFF)");
}

}  // namespace

PackedConv::PackedConv(const torch::Tensor&, const torch::Tensor&, const PackedConvOptions&) { built_without_onednn(); }

PackedConv::~PackedConv() = default;

bool PackedConv::accepts(const torch::Tensor&) { return false; }

torch::Tensor PackedConv::forward(const torch::Tensor&, const torch::Tensor&) { built_without_onednn(); }
#endif

}  // namespace zoo::models
