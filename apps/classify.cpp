// classify: runs a trained classifier on image files (prints the top classes), on a tensor
// file (writes the logits), or on a dataset's test split (accuracy, and how often its top-1
// class agrees with logits saved earlier, e.g. by another --precision), for pipelines and
// parity checks.
#include <cstdio>
#include <iostream>

#include "core/autocast.h"
#include "core/error.h"
#include "core/image.h"
#include "core/options.h"
#include "core/runtime.h"
#include "data/input_spec.h"
#include "data/loader.h"
#include "data/spec.h"
#include "train/load_classifier.h"
#include "weights/safetensors.h"

using namespace zoo;

namespace {

std::vector<torch::Tensor> load_images(const std::vector<std::string>& paths, const train::LoadedClassifier& loaded) {
  std::vector<torch::Tensor> images;
  for (const std::string& path : paths) images.push_back(load_image(path, loaded.input.channels == 1));
  return images;
}

// The only tensor of a safetensors file.
torch::Tensor read_one_tensor(const std::string& path) {
  const weights::SafeTensors file = weights::read_safetensors(path);
  if (file.tensors.size() != 1)
    throw Error(file.source + ": expected exactly one tensor, found " + std::to_string(file.tensors.size()));
  return file.tensors.front().second;
}

// Logits [N, classes] and labels [N] of the test split of `spec` (its first `limit` images;
// 0: all), prepared as in training.
std::pair<torch::Tensor, torch::Tensor> split_logits(const train::LoadedClassifier& loaded, const std::string& spec,
                                                     int64_t limit,
                                                     const std::function<torch::Tensor(const torch::Tensor&)>& run) {
  const data::DatasetPtr split = data::open_dataset(spec, data::Split::test, limit);
  const auto& info = split->info();
  if (!info.is_image() || info.shape[0] != loaded.classifier.in_channels())
    throw Error("--data " + spec + ": expected images with " + std::to_string(loaded.classifier.in_channels()) +
                " channels for this classifier");
  data::LoaderOptions loading;
  loading.batch_size = 100;
  loading.shuffle = false;
  const data::DataLoader loader(split, loading, data::eval_transform(loaded.input, info.shape[1]));
  std::vector<torch::Tensor> logits, labels;
  auto reader = loader.epoch(0);
  while (auto batch = reader->next()) {
    logits.push_back(run(batch->inputs));
    labels.push_back(batch->labels);
  }
  return {torch::cat(logits), torch::cat(labels)};
}

struct ClassifyOptions : CommonOptions {
  std::string checkpoint, model;
  int64_t num_classes = 0;
  std::vector<std::string> image;
  std::string input, output, data, agreement;
  int64_t topk = 5, limit = 0;
  std::string format = "table";
  std::string precision = "fp32";
  bool allow_unknown_globals = false;
};

Flags<ClassifyOptions> flags() {
  using O = ClassifyOptions;
  Flags<O> flags("classify", "Classify images, or turn an input tensor file into logits, with a trained classifier");
  flags.common()
      .required("checkpoint", "run directory, zoo checkpoint, or .pth / TorchScript / safetensors weights",
                &O::checkpoint)
      .text("model", "model name, for weight files that carry no config", &O::model)
      .integer("num-classes", "number of classes, for weight files that carry no config (0 = the model's)",
               &O::num_classes, Bounds::at_least(0))
      .texts("image", "image files to classify", &O::image)
      .text("input", "a safetensors file holding one tensor [N, C, H, W] of prepared inputs", &O::input)
      .text("data", "a dataset spec: classify its test split (top-1 accuracy)", &O::data)
      .integer("limit", "with --data: only the first N test images (0 = all)", &O::limit, Bounds::at_least(0))
      .text("output", "with --input or --data: where to write the logits (safetensors, tensor 'logits')", &O::output)
      .text("agreement",
            "with --data: logits written earlier by --output (e.g. at another --precision); report how often the "
            "top-1 classes agree",
            &O::agreement)
      .choice("precision", "fp32, or bf16 autocast (on CUDA, or a CPU with AVX512-BF16)", &O::precision,
              {"fp32", "bf16"})
      .integer("topk", "classes to show per image", &O::topk, Bounds::at_least(1))
      .format(&O::format)
      .flag("allow-unknown-globals",
            "read a .pth that names Python globals beyond tensors and plain containers "
            "(never run; only for files you trust)",
            &O::allow_unknown_globals);
  return flags;
}

int run(int argc, char** argv) {
  const ClassifyOptions options = flags().parse(argc, argv);
  const Runtime runtime = setup_runtime(options);
  const int modes = !options.input.empty() + !options.image.empty() + !options.data.empty();
  if (modes != 1)
    throw Error("give one of --image FILE..., --input FILE --output FILE, or --data SPEC", ErrorKind::usage);
  if (!options.input.empty() && options.output.empty())
    throw Error("--input needs --output for the logits", ErrorKind::usage);
  if (!options.agreement.empty() && options.data.empty()) throw Error("--agreement needs --data", ErrorKind::usage);
  const bool autocast = inference_autocast_for(options.precision, runtime.device);

  train::LoadedClassifier loaded =
      train::load_classifier(options.checkpoint, options.model, options.num_classes, {options.allow_unknown_globals});
  loaded.classifier.module().to(runtime.device);
  loaded.classifier.module().eval();
  torch::NoGradGuard no_grad;
  // Logits in float32 on the CPU, whatever the precision computed in.
  auto logits_of = [&](const torch::Tensor& x) {
    const AutocastGuard precision(autocast, runtime.device.type());
    return loaded.classifier(x.to(runtime.device, torch::kFloat)).to(torch::kCPU, torch::kFloat);
  };
  auto write_logits = [&](const torch::Tensor& logits) {
    weights::write_safetensors(options.output, {{"logits", logits}});
    std::fprintf(stderr, "wrote logits %s to %s\n", c10::str(logits.sizes()).c_str(), options.output.c_str());
  };

  if (!options.input.empty()) {
    const torch::Tensor x = read_one_tensor(options.input);
    if (x.dim() != 4 || x.size(1) != loaded.classifier.in_channels())
      throw Error(options.input + ": expected inputs [N, " + std::to_string(loaded.classifier.in_channels()) +
                  ", H, W], got " + c10::str(x.sizes()));
    write_logits(logits_of(x));
    return 0;
  }

  if (!options.data.empty()) {
    // Read the reference first: a bad file fails before the split is classified.
    const torch::Tensor reference = options.agreement.empty() ? torch::Tensor() : read_one_tensor(options.agreement);
    const auto [logits, labels] = split_logits(loaded, options.data, options.limit, logits_of);
    const torch::Tensor predicted = logits.argmax(1);
    const int64_t n = labels.size(0);
    Json report = {{"data", options.data},
                   {"precision", options.precision},
                   {"images", n},
                   {"top1", predicted.eq(labels).sum().item<double>() / static_cast<double>(n)}};
    if (reference.defined()) {
      if (reference.sizes() != logits.sizes())
        throw Error(options.agreement + ": expected logits " + c10::str(logits.sizes()) + ", got " +
                    c10::str(reference.sizes()));
      report["agreement"] = predicted.eq(reference.argmax(1)).sum().item<double>() / static_cast<double>(n);
    }
    if (!options.output.empty()) write_logits(logits);
    if (options.format == "json") {
      std::cout << report.dump(2) << std::endl;
    } else {
      std::printf("%s test split, %lld images, %s: top-1 %.2f%%\n", options.data.c_str(), static_cast<long long>(n),
                  options.precision.c_str(), 100 * report["top1"].get<double>());
      if (reference.defined())
        std::printf("top-1 class agrees with %s on %.2f%%\n", options.agreement.c_str(),
                    100 * report["agreement"].get<double>());
    }
    return 0;
  }

  const std::vector<std::string>& paths = options.image;
  const torch::Tensor probabilities =
      torch::softmax(logits_of(train::classifier_inputs(loaded, load_images(paths, loaded))), 1);
  const int64_t k = std::min<int64_t>(options.topk, probabilities.size(1));
  const auto [values, indices] = probabilities.topk(k, 1);
  Json report = Json::array();
  for (size_t i = 0; i < paths.size(); ++i) {
    Json top = Json::array();
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = indices[static_cast<int64_t>(i)][j].item<int64_t>();
      top.push_back({{"class", c},
                     {"name", loaded.classes.at(static_cast<size_t>(c))},
                     {"probability", values[static_cast<int64_t>(i)][j].item<double>()}});
    }
    report.push_back({{"image", paths[i]}, {"top", top}});
  }
  if (options.format == "json") {
    std::cout << report.dump(2) << std::endl;
  } else {
    for (const Json& entry : report) {
      std::printf("%s\n", entry["image"].get<std::string>().c_str());
      for (const Json& t : entry["top"])
        std::printf("  %6.2f%%  %s\n", 100 * t["probability"].get<double>(), t["name"].get<std::string>().c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
