// activations: the zoo's activation functions, drawn. `activations --plot out.png` plots
// every function in models/nn/activations.h with its derivative (by autograd) on [−4, 4];
// without --plot it lists the names.
#include <iostream>

#include "core/error.h"
#include "core/image.h"
#include "core/options.h"
#include "core/plot.h"
#include "core/runtime.h"
#include "models/nn/activations.h"

using namespace zoo;

namespace {

struct ActivationsOptions : CommonOptions {
  std::string plot;
};

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    Flags<ActivationsOptions> flags("activations",
                                    "Plot every activation function and its derivative, or list their names");
    flags.common().text("plot", "write the plots to this .png", &ActivationsOptions::plot);
    const ActivationsOptions options = flags.parse(argc, argv);
    setup_runtime(options);
    const std::string& out = options.plot;
    if (out.empty()) {
      for (const std::string& name : models::activation_names()) std::cout << name << "\n";
      return 0;
    }
    std::vector<torch::Tensor> panels;
    for (const std::string& name : models::activation_names()) {
      models::Activation activation(name);
      const torch::Tensor x = torch::linspace(-4, 4, 401, torch::kFloat64).requires_grad_();
      activation->to(torch::kFloat64);
      const torch::Tensor y = activation->forward(x);
      const torch::Tensor xs = x.detach();
      // The step has no gradient path to x: its derivative is zero wherever it exists.
      const torch::Tensor slope = y.requires_grad() ? torch::autograd::grad({y.sum()}, {x})[0] : torch::zeros_like(xs);
      auto values = [](const torch::Tensor& t) {
        return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
      };
      panels.push_back(line_plot(
          {{values(xs), values(y.detach().contiguous()), name}, {values(xs), values(slope.contiguous()), "derivative"}},
          name, 320, 220));
    }
    const std::string written = save_image(out, make_grid(torch::stack(panels), GridOptions{4, 4, 1.0f}));
    std::cout << "wrote " << written << "\n";
    return 0;
  });
}
