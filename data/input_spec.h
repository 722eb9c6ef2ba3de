#pragma once
// What a trained image model expects of its input: size, channels and the normalisation
// it was trained with. Saved with the checkpoint, so inference prepares images exactly as
// training did.
#include <vector>

#include "core/json.h"
#include "data/dataset.h"
#include "data/transforms.h"

namespace zoo::data {

struct InputSpec {
  int64_t size = 0;  // images are resized to size x size
  int64_t channels = 0;
  std::vector<double> mean, std;  // per channel
};

Json to_json(const InputSpec& spec);
InputSpec input_spec_from_json(const Json& json);

// Per-channel mean and std of (up to the first `max_examples`) images of a dataset.
InputSpec measure_input_spec(const Dataset& dataset, int64_t size, int64_t max_examples = 10000);

// Resize (when needed) then normalise: what evaluation and inference apply.
TransformPtr eval_transform(const InputSpec& spec, int64_t native_size);
// The training augmentations beyond pad + random crop and flip, which are always on.
struct Augmentation {
  double random_erasing = 0;  // probability of RandomErasing after normalising (0 = off)
};

// Training: eval_transform's resize and normalisation, with pad + random crop and a
// horizontal flip before normalising and what `augmentation` adds after it.
TransformPtr train_transform(const InputSpec& spec, int64_t native_size, const Augmentation& augmentation = {});

}  // namespace zoo::data
