// sample_flow: draws samples from a trained flow at a temperature (--out grid.png or
// samples.safetensors), checks that encoding and decoding test data gives it back
// (--reconstruct), or scores given data (--log-prob data.safetensors).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "core/strings.h"
#include "data/spec.h"
#include "train/flow_io.h"
#include "train/sample_file.h"
#include "train/sample_picture.h"
#include "weights/safetensors.h"

using namespace zoo;

namespace {

struct SampleOptions : CommonOptions {
  std::string checkpoint, out;
  int64_t n = 64;
  double temperature = 1.0;
  int64_t batch_size = 256;
  bool reconstruct = false;
  int64_t limit = 1000;
  std::string log_prob;
  std::string format = "text";
};

Flags<SampleOptions> flags() {
  using O = SampleOptions;
  Flags<O> flags("sample_flow", "Sample from a trained normalizing flow, check its inverse, or score data");
  flags.common()
      .required("checkpoint", "run directory or checkpoint file of train_flow", &O::checkpoint)
      .text("out", "grid.png (a picture) or samples.safetensors (tensor 'samples')", &O::out)
      .integer("n", "number of samples", &O::n, Bounds::at_least(1))
      .real("temperature", "scale of the base distribution's noise (Glow samples at 0.7)", &O::temperature,
            Bounds::above(0))
      .integer("batch-size", "examples per batch", &O::batch_size, Bounds::at_least(1))
      .flag("reconstruct", "encode and decode the test split and report the largest error", &O::reconstruct)
      .integer("limit", "--reconstruct: the first N test examples (0 = all)", &O::limit, Bounds::at_least(0))
      .text("log-prob", "score the tensor 'samples' (or the only tensor) of this safetensors file", &O::log_prob)
      .format(&O::format, {"text", "json"});
  return flags;
}

int run(int argc, char** argv) {
  const SampleOptions o = flags().parse(argc, argv);
  const Runtime runtime = setup_runtime(o);
  const bool json = o.format == "json";
  const std::string& out = o.out;
  const std::string& log_prob_path = o.log_prob;
  const bool reconstruct = o.reconstruct;
  if (static_cast<int>(!out.empty()) + static_cast<int>(reconstruct) + static_cast<int>(!log_prob_path.empty()) != 1)
    throw Error("give exactly one of --out, --reconstruct and --log-prob", ErrorKind::usage);
  if (!out.empty() && !ends_with(out, ".png") && !ends_with(out, ".safetensors"))
    throw Error("--out " + out + ": expected a .png or .safetensors path", ErrorKind::usage);
  const int64_t batch = o.batch_size;

  train::LoadedFlow loaded = train::load_flow(o.checkpoint);
  flows::FlowModelImpl& model = *loaded.model;
  model.to(runtime.device);
  torch::NoGradGuard no_grad;
  Json report;

  if (!log_prob_path.empty()) {
    const weights::SafeTensors file = weights::read_safetensors(log_prob_path);
    const torch::Tensor* found = file.find("samples");
    if (!found && file.tensors.size() == 1) found = &file.tensors.front().second;
    if (!found) throw Error(log_prob_path + ": no tensor 'samples' (and more than one tensor)", ErrorKind::input);
    const torch::Tensor x = found->to(torch::kFloat);
    std::vector<int64_t> expected{x.dim() > 0 ? x.size(0) : 0};
    for (int64_t s : model.config().shape) expected.push_back(s);
    if (x.sizes() != torch::IntArrayRef(expected))
      throw Error(
          log_prob_path + ": expected data [N, " + join(model.config().shape, ", ") + "], got " + c10::str(x.sizes()),
          ErrorKind::input);
    // Scored as given: images are not dequantised (the file may hold continuous samples).
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < x.size(0); start += batch)
      parts.push_back(model.log_prob(x.slice(0, start, start + batch).to(runtime.device)).cpu());
    const torch::Tensor lp = torch::cat(parts);
    report = {{"examples", x.size(0)}, {"mean_log_prob_nats", lp.mean().item<double>()}};
    if (model.images()) report["bits_per_dim"] = flows::bits_per_dim(lp, model.dimensions()).mean().item<double>();
  } else if (reconstruct) {
    const data::DatasetPtr test = data::open_dataset(loaded.data, data::Split::test, o.limit);
    double worst = 0;
    for (int64_t start = 0; start < test->size(); start += batch) {
      std::vector<torch::Tensor> examples;
      for (int64_t i = start; i < std::min(test->size(), start + batch); ++i) examples.push_back(test->get(i).input);
      const torch::Tensor x = torch::stack(examples).to(runtime.device);
      worst = std::max(worst, (model.decode(model.encode(x)) - x).abs().max().item<double>());
    }
    report = {{"examples", test->size()}, {"max_abs_error", worst}};
  } else {
    seed_everything(runtime.seed);
    const torch::Tensor z = model.draw_latents(o.n, o.temperature);
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < z.size(0); start += batch)
      parts.push_back(model.decode(z.slice(0, start, start + batch)).cpu());
    const torch::Tensor samples = torch::cat(parts);
    const std::string written = ends_with(out, ".png") ? train::save_samples_picture(out, samples)
                                                       : (train::write_sample_file(out, {samples, {}}), out);
    report = {{"samples", samples.size(0)}, {"temperature", o.temperature}, {"out", written}};
  }
  if (json) {
    std::cout << report.dump(2) << std::endl;
  } else if (report.contains("max_abs_error")) {
    std::printf("%lld test examples: largest |decode(encode(x)) − x| = %.3g\n", report["examples"].get<long long>(),
                report["max_abs_error"].get<double>());
  } else if (report.contains("mean_log_prob_nats")) {
    std::printf("%lld examples: mean log p = %.4f nats", report["examples"].get<long long>(),
                report["mean_log_prob_nats"].get<double>());
    if (report.contains("bits_per_dim")) std::printf(" (%.4f bits/dim)", report["bits_per_dim"].get<double>());
    std::printf("\n");
  } else {
    std::printf("%lld samples at temperature %g; wrote %s\n", report["samples"].get<long long>(),
                report["temperature"].get<double>(), report["out"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
