#pragma once
// What train_flow writes and sample_flow reads, and the evaluation both report.
//
// A flow checkpoint's "zoo.model" metadata is
//   {"model": "flow", "flow": <FlowModelConfig>, "classes": [...], "data": "<spec>"}
#include <string>
#include <vector>

#include "core/distributed.h"
#include "core/json.h"
#include "data/dataset.h"
#include "models/flows/flow_model.h"

namespace zoo::train {

Json flow_checkpoint_config(const flows::FlowModelImpl& model, const std::vector<std::string>& classes,
                            const std::string& data);

struct LoadedFlow {
  flows::FlowModel model{nullptr};
  std::string data;
  int64_t step = -1;
};

// --checkpoint RUN_OR_FILE of a flow; another kind of checkpoint is an input error that
// says what it holds. The model is returned in eval mode.
LoadedFlow load_flow(const std::string& checkpoint);

struct FlowEvaluation {
  double nll = 0;  // mean −log p: bits/dim for images, nats for vectors
  int64_t examples = 0;
};

// Mean negative log-likelihood of the first `limit` (0 = all) examples of `dataset` in
// eval mode. Image i is dequantised with noise drawn from (seed, i) alone, so the number
// does not depend on the batch size. Each rank of the group scores its share and the sums
// are added over the ranks.
FlowEvaluation evaluate_flow(flows::FlowModelImpl& model, const data::Dataset& dataset, uint64_t seed,
                             int64_t batch_size, Distributed& group, int64_t limit = 0);

}  // namespace zoo::train
