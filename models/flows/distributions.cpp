#include "models/flows/distributions.h"

#include <cmath>

#include "core/error.h"

namespace zoo::flows {

namespace {

const double kHalfLog2Pi = 0.5 * std::log(2 * M_PI);

class StandardNormal : public DistributionImpl {
 public:
  explicit StandardNormal(int64_t d) : d_(d) {}
  torch::Tensor log_prob(const torch::Tensor& z) override {
    return -0.5 * z.pow(2).sum(1) - kHalfLog2Pi * static_cast<double>(d_);
  }
  torch::Tensor sample(int64_t n, double t, const torch::TensorOptions& options) override {
    return torch::randn({n, d_}, options) * t;
  }

 private:
  int64_t d_;
};

class Logistic : public DistributionImpl {
 public:
  explicit Logistic(int64_t d) : d_(d) {}
  // log p(z) = −log(1 + e^z) − log(1 + e^−z), written with softplus to stay finite.
  torch::Tensor log_prob(const torch::Tensor& z) override {
    return -(torch::nn::functional::softplus(z) + torch::nn::functional::softplus(-z)).sum(1);
  }
  torch::Tensor sample(int64_t n, double t, const torch::TensorOptions& options) override {
    const torch::Tensor u = torch::rand({n, d_}, options).clamp(1e-6, 1 - 1e-6);
    return (torch::log(u) - torch::log1p(-u)) * t;
  }

 private:
  int64_t d_;
};

class DiagonalGaussian : public DistributionImpl {
 public:
  explicit DiagonalGaussian(int64_t d) {
    mean_ = register_parameter("mean", torch::zeros({d}));
    log_std_ = register_parameter("log_std", torch::zeros({d}));
  }
  torch::Tensor log_prob(const torch::Tensor& z) override {
    const torch::Tensor u = (z - mean_) * (-log_std_).exp();
    return (-0.5 * u.pow(2) - log_std_ - kHalfLog2Pi).sum(1);
  }
  torch::Tensor sample(int64_t n, double t, const torch::TensorOptions& options) override {
    return mean_.to(options) + torch::randn({n, mean_.size(0)}, options) * t * log_std_.exp().to(options);
  }

 private:
  torch::Tensor mean_, log_std_;
};

}  // namespace

const std::vector<std::string>& distribution_names() {
  static const std::vector<std::string> names = {"standard_normal", "logistic", "diagonal_gaussian"};
  return names;
}

DistributionPtr make_distribution(const std::string& name, int64_t d) {
  if (name == "standard_normal") return std::make_shared<StandardNormal>(d);
  if (name == "logistic") return std::make_shared<Logistic>(d);
  if (name == "diagonal_gaussian") return std::make_shared<DiagonalGaussian>(d);
  throw Error("base distribution " + name + ": expected standard_normal, logistic or diagonal_gaussian",
              ErrorKind::usage);
}

}  // namespace zoo::flows
