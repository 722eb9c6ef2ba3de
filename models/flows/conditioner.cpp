#include "models/flows/conditioner.h"

#include "core/error.h"
#include "models/nn/activations.h"

namespace zoo::flows {
namespace nn = torch::nn;

namespace {

// A linear layer (vectors) or a k×k convolution with same padding (images).
nn::AnyModule layer(bool image, int64_t in, int64_t out, int64_t kernel) {
  if (image) return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(kernel / 2)));
  return nn::AnyModule(nn::Linear(in, out));
}

nn::AnyModule activation(const std::string& name, int64_t channels) {
  return nn::AnyModule(models::Activation(name, channels));
}

nn::AnyModule norm(bool image, int64_t channels) {
  if (image) return nn::AnyModule(nn::BatchNorm2d(channels));
  return nn::AnyModule(nn::BatchNorm1d(channels));
}

void zero_last(nn::Sequential& seq) {
  torch::NoGradGuard no_grad;
  for (auto& p : seq[seq->size() - 1]->parameters()) p.zero_();
}

class SequentialConditioner : public ConditionerImpl {
 public:
  explicit SequentialConditioner(nn::Sequential net) : net_(register_module("net", std::move(net))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return net_->forward(x); }

 private:
  nn::Sequential net_;
};

class ResidualBlock : public nn::Module {
 public:
  ResidualBlock(bool image, int64_t channels, const std::string& act) {
    body_ = register_module(
        "body", nn::Sequential(norm(image, channels), activation(act, channels), layer(image, channels, channels, 3),
                               norm(image, channels), activation(act, channels), layer(image, channels, channels, 3)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + body_->forward(x); }

 private:
  nn::Sequential body_;
};

class ResNetConditioner : public ConditionerImpl {
 public:
  explicit ResNetConditioner(const ConditionerOptions& o) {
    in_ = register_module("in", nn::Sequential(layer(o.image, o.in, o.hidden, 3)));
    for (int64_t i = 0; i < o.layers; ++i)
      blocks_->push_back(std::make_shared<ResidualBlock>(o.image, o.hidden, o.activation));
    register_module("blocks", blocks_);
    out_ = register_module("out", nn::Sequential(norm(o.image, o.hidden), activation(o.activation, o.hidden),
                                                 layer(o.image, o.hidden, o.out, 3)));
    zero_last(out_);
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = in_->forward(x);
    for (auto& block : *blocks_) h = block->as<ResidualBlock>()->forward(h);
    return out_->forward(h);
  }

 private:
  nn::Sequential in_, out_;
  nn::ModuleList blocks_;
};

}  // namespace

std::shared_ptr<ConditionerImpl> make_conditioner(const ConditionerOptions& o) {
  if (o.in < 1 || o.out < 1 || o.hidden < 1 || o.layers < 0)
    throw Error("coupling network: sizes must be positive", ErrorKind::usage);
  if (o.kind == "mlp") {
    if (o.image) throw Error("coupling network mlp is for vectors; images use resnet or glow", ErrorKind::usage);
    nn::Sequential seq;
    int64_t width = o.in;
    for (int64_t i = 0; i < o.layers; ++i) {
      seq->push_back(nn::Linear(width, o.hidden));
      seq->push_back(activation(o.activation, o.hidden));
      width = o.hidden;
    }
    seq->push_back(nn::Linear(width, o.out));
    zero_last(seq);
    return std::make_shared<SequentialConditioner>(seq);
  }
  if (o.kind == "glow") {
    nn::Sequential seq(layer(o.image, o.in, o.hidden, 3), activation(o.activation, o.hidden),
                       layer(o.image, o.hidden, o.hidden, 1), activation(o.activation, o.hidden),
                       layer(o.image, o.hidden, o.out, 3));
    zero_last(seq);
    return std::make_shared<SequentialConditioner>(seq);
  }
  if (o.kind == "resnet") return std::make_shared<ResNetConditioner>(o);
  throw Error("coupling network " + o.kind + ": expected mlp, resnet or glow", ErrorKind::usage);
}

}  // namespace zoo::flows
