// evaluate_samples: how close generated samples are to the data. For 2-D points, the
// sliced Wasserstein distance to the test split; for images, the Fréchet distance between
// the features of a zoo classifier trained on the same data (FD-<dataset>; not Inception
// FID), and, for labelled samples, how often that classifier agrees with the label. Each
// number is printed beside the same number for fresh data (training examples against the
// test split), the floor a perfect model would reach at that sample size.
#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "data/spec.h"
#include "train/load_classifier.h"
#include "train/sample_file.h"
#include "train/sample_metrics.h"

using namespace zoo;

namespace {

// Classifier features and logits of images [N, C, H, W] in [0, 1], in batches.
std::pair<torch::Tensor, torch::Tensor> features_and_logits(const train::LoadedClassifier& loaded,
                                                            const torch::Tensor& images, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> features, logits;
  for (int64_t start = 0; start < images.size(0); start += 256) {
    const torch::Tensor batch = images.slice(0, start, start + 256);
    const torch::Tensor inputs = train::classifier_inputs(loaded, batch.unbind(0)).to(device);
    features.push_back(loaded.classifier.features(inputs).cpu());
    logits.push_back(loaded.classifier(inputs).cpu());
  }
  return {torch::cat(features), torch::cat(logits)};
}

struct EvaluateOptions : CommonOptions {
  std::string data, samples, classifier;
  std::string format = "table";
};

Flags<EvaluateOptions> flags() {
  using O = EvaluateOptions;
  Flags<O> flags("evaluate_samples",
                 "Compare generated samples with the data: sliced Wasserstein (2-D) or FD-<dataset> (images)");
  flags.common()
      .required("data", "the data spec the model was trained on", &O::data)
      .required("samples", "samples.safetensors written by sample_diffusion or sample_flow", &O::samples)
      .text("classifier", "images: a zoo classifier checkpoint trained on the same data", &O::classifier)
      .format(&O::format);
  return flags;
}

int run(int argc, char** argv) {
  const EvaluateOptions o = flags().parse(argc, argv);
  const Runtime runtime = setup_runtime(o);
  const train::SampleFile file = train::read_sample_file(o.samples);
  const torch::Tensor& samples = file.samples;
  const int64_t n = samples.size(0);
  const data::DatasetPtr test = data::open_dataset(o.data, data::Split::test, 0);
  const data::DatasetPtr train = data::open_dataset(o.data, data::Split::train, 0);
  const auto& info = test->info();
  if (samples.dim() != static_cast<int64_t>(info.shape.size()) + 1 ||
      samples.sizes().slice(1) != at::IntArrayRef(info.shape))
    throw Error(o.samples + ": samples of shape " + c10::str(samples.sizes()) + " do not match the data's " +
                    c10::str(info.shape),
                ErrorKind::input);
  const torch::Tensor test_inputs = data::stack_inputs(*test);
  const torch::Tensor fresh = data::stack_inputs(*train, n);

  Json report = {{"data", info.name}, {"samples", n}};
  if (!info.is_image()) {
    report["swd"] = train::sliced_wasserstein(samples, test_inputs);
    report["swd_fresh_data"] = train::sliced_wasserstein(fresh, test_inputs);
    report["ratio"] = report["swd"].get<double>() / report["swd_fresh_data"].get<double>();
  } else {
    if (o.classifier.empty())
      throw Error("images are compared in a classifier's feature space: give --classifier RUN_OR_FILE",
                  ErrorKind::usage);
    train::LoadedClassifier classifier = train::load_classifier(o.classifier);
    if (classifier.input.channels != info.shape[0])
      throw Error("--classifier expects " + std::to_string(classifier.input.channels) +
                      "-channel images, the data has " + std::to_string(info.shape[0]),
                  ErrorKind::input);
    classifier.classifier.module().to(runtime.device);
    classifier.classifier.module().eval();
    const auto [sample_features, sample_logits] = features_and_logits(classifier, samples, runtime.device);
    const torch::Tensor test_features = features_and_logits(classifier, test_inputs, runtime.device).first;
    const torch::Tensor fresh_features = features_and_logits(classifier, fresh, runtime.device).first;
    report["metric"] = "FD-" + info.name + " (Fréchet distance in the classifier's features; not Inception FID)";
    report["fd"] = train::frechet_distance(sample_features, test_features);
    report["fd_fresh_data"] = train::frechet_distance(fresh_features, test_features);
    if (file.labels.defined() && file.labels.numel() == n)
      report["classifier_agreement"] =
          (sample_logits.argmax(1) == file.labels).to(torch::kDouble).mean().item<double>();
  }
  if (o.format == "json") {
    std::cout << report.dump(2) << std::endl;
  } else if (report.contains("swd")) {
    std::printf("%s, %lld samples: sliced Wasserstein %.4f (fresh data %.4f, ratio %.2f)\n", info.name.c_str(),
                static_cast<long long>(n), report["swd"].get<double>(), report["swd_fresh_data"].get<double>(),
                report["ratio"].get<double>());
  } else {
    std::printf("%s, %lld samples: FD-%s %.4g (fresh data %.4g, ratio %.2f)", info.name.c_str(),
                static_cast<long long>(n), info.name.c_str(), report["fd"].get<double>(),
                report["fd_fresh_data"].get<double>(),
                report["fd"].get<double>() / report["fd_fresh_data"].get<double>());
    if (report.contains("classifier_agreement"))
      std::printf(", classifier agrees with the labels %.1f%%", 100 * report["classifier_agreement"].get<double>());
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
