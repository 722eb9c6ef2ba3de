#include "data/input_spec.h"

#include "core/error.h"
#include "core/limits.h"
#include "data/statistics.h"

namespace zoo::data {

Json to_json(const InputSpec& spec) {
  return {{"size", spec.size}, {"channels", spec.channels}, {"mean", spec.mean}, {"std", spec.std}};
}

InputSpec input_spec_from_json(const Json& json) {
  try {
    InputSpec spec{json.at("size").get<int64_t>(), json.at("channels").get<int64_t>(),
                   json.at("mean").get<std::vector<double>>(), json.at("std").get<std::vector<double>>()};
    if (spec.size < 1 || spec.channels < 1 || spec.mean.size() != static_cast<size_t>(spec.channels) ||
        spec.std.size() != spec.mean.size())
      throw Error("the checkpoint's input description is inconsistent: " + json.dump());
    check_limit("the checkpoint's input size", static_cast<double>(spec.size), kMaxImageSide);
    check_limit("the checkpoint's input channels", static_cast<double>(spec.channels), kMaxChannels);
    return spec;
  } catch (const Json::exception&) {
    throw Error("the checkpoint's input description is incomplete: " + json.dump());
  }
}

InputSpec measure_input_spec(const Dataset& dataset, int64_t size, int64_t max_examples) {
  if (!dataset.info().is_image()) throw Error(dataset.info().name + ": a classifier needs image data");
  ChannelStats stats = channel_stats(dataset, max_examples);
  // A constant channel would divide by zero when normalising.
  for (double& s : stats.std) s = std::max(s, 1e-6);
  return {size, dataset.info().shape[0], stats.mean, stats.std};
}

namespace {
// augmentation == nullptr: evaluation.
TransformPtr pipeline(const InputSpec& spec, int64_t native_size, const Augmentation* augmentation) {
  std::vector<TransformPtr> steps;
  if (spec.size != native_size) steps.push_back(std::make_shared<Resize>(spec.size));
  if (augmentation) {
    steps.push_back(std::make_shared<PadCrop>(std::max<int64_t>(1, spec.size / 8)));
    steps.push_back(std::make_shared<HorizontalFlip>());
  }
  steps.push_back(std::make_shared<Normalize>(spec.mean, spec.std));
  if (augmentation && augmentation->random_erasing != 0) {  // a bad probability is refused, not ignored
    RandomErasingOptions erasing;
    erasing.p = augmentation->random_erasing;
    steps.push_back(std::make_shared<RandomErasing>(erasing));
  }
  return std::make_shared<Compose>(std::move(steps));
}
}  // namespace

TransformPtr eval_transform(const InputSpec& spec, int64_t native_size) { return pipeline(spec, native_size, nullptr); }
TransformPtr train_transform(const InputSpec& spec, int64_t native_size, const Augmentation& augmentation) {
  return pipeline(spec, native_size, &augmentation);
}

}  // namespace zoo::data
