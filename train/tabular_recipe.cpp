#include "train/tabular_recipe.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "data/spec.h"
#include "models/nn/eval_mode.h"
#include "train/adam.h"

namespace zoo::train {

TabularRecipe::TabularRecipe(const TabularOptions& options, const Session& session)
    : options_(options), session_(session) {
  const data::DataSpec spec = data::parse_data_spec(options.data);
  if (spec.kind != "csv" || spec.path.empty() || !spec.options.empty())
    throw Error("--data " + options.data + ": train_tabular reads csv:FILE", ErrorKind::usage);
  data::FeatureColumns columns = data::FeatureColumns::read(options.columns);
  const data::Table table = data::read_csv(spec.path, columns.csv_options());
  const auto [train_rows, test_rows] = data::split_rows(table.rows(), options.test_fraction, session.runtime.seed);
  const int64_t limit = options.limit;
  const data::Table train_table =
      table.select(limit > 0 && limit < static_cast<int64_t>(train_rows.size())
                       ? std::vector<int64_t>(train_rows.begin(), train_rows.begin() + limit)
                       : train_rows);
  target_ = data::fit_target(table, train_table, options.target, options.task);
  columns.fit(train_table);
  train_data_ =
      std::static_pointer_cast<const data::TensorDataset>(data::tabular_dataset(train_table, columns, target_));
  test_data_ = std::static_pointer_cast<const data::TensorDataset>(
      data::tabular_dataset(table.select(test_rows), columns, target_));

  models::TabularNetOptions net_options;
  net_options.dense = columns.dense_features();
  for (const data::CategoricalSlot& slot : columns.slots()) {
    net_options.buckets.push_back(slot.buckets);
    net_options.embedding_dims.push_back(slot.embedding_dimension);
  }
  net_options.hidden = options.hidden;
  net_options.layers = options.layers;
  net_options.activation = options.activation;
  net_options.dropout = options.dropout;
  net_options.outputs = target_.classification() ? static_cast<int64_t>(target_.classes.size()) : 1;
  net_ = models::TabularNet(net_options);
  net_->to(session.runtime.device);
  checkpoint_config_ = {{"model", "tabular_net"},
                        {"config", fields_to_json(net_options)},
                        {"columns", columns.to_json()},
                        {"target", target_.to_json()}};
  loss_.name = options.loss;

  // The trivial predictor: the training rows' majority class, or their mean (0 standardised).
  const int64_t outputs = net_options.outputs;
  trivial_ =
      target_.classification()
          ? torch::one_hot(torch::bincount(train_data_->labels(), {}, outputs).argmax(), outputs).to(torch::kFloat)
          : torch::zeros({1});
  baseline_ = evaluate(/*trivial=*/true);
  std::fprintf(stderr, "%lld training rows, %lld test rows, %lld features into the MLP; trivial predictor: %s\n",
               static_cast<long long>(train_data_->size()), static_cast<long long>(test_data_->size()),
               static_cast<long long>(net_->feature_width()), baseline_.line.c_str());
}

RecipePlan TabularRecipe::plan() const {
  RecipePlan plan;
  plan.label = "train tabular_net";
  plan.float32_only = true;  // a small MLP: nothing to gain
  plan.warmup_epochs = 1;
  plan.cosine_decay = true;
  return plan;
}

std::unique_ptr<torch::optim::Optimizer> TabularRecipe::optimizer(double lr) {
  return std::make_unique<AdamW>(net_->parameters(),
                                 torch::optim::AdamWOptions(lr).weight_decay(options_.weight_decay));
}

torch::Tensor TabularRecipe::loss(const data::Batch& batch, int64_t) {
  const torch::Device& device = session_.runtime.device;
  const torch::Tensor out = net_->forward(batch.inputs.to(device));
  if (target_.classification()) return models::classification_loss(out, batch.labels.to(device), loss_);
  return torch::mse_loss(out, batch.targets.to(device));
}

// Each rank of the group scores its share of the rows and the sums are added over the ranks.
TabularScores TabularRecipe::evaluate(bool trivial) {
  Distributed& group = *session_.group;
  const data::TensorDataset& test = *test_data_;
  const auto [first, last] = group.share(test.size());
  const int64_t rows = last - first;
  torch::Tensor predictions;
  if (trivial) {
    predictions = trivial_.expand({rows, trivial_.size(0)});
  } else {
    torch::NoGradGuard no_grad;
    const models::EvalMode eval(*net_);
    predictions = net_->forward(test.inputs().slice(0, first, last).to(session_.runtime.device)).cpu();
  }
  const double n = static_cast<double>(test.size());
  char line[160];
  if (target_.classification()) {
    const torch::Tensor predicted = predictions.argmax(1), labels = test.labels().slice(0, first, last);
    // Class counts: true positives per class sum to the correct predictions.
    const torch::Tensor counts =
        group.sum(models::class_counts(predicted, labels, static_cast<int64_t>(target_.classes.size())));
    const double accuracy = counts[0].sum().item<double>() / n, f1 = models::macro_f1_from_counts(counts);
    std::snprintf(line, sizeof line, "accuracy %.4f macro-F1 %.4f", accuracy, f1);
    return {{{"test_accuracy", accuracy}, {"test_macro_f1", f1}}, line};
  }
  const torch::Tensor error = (predictions - test.targets().slice(0, first, last)).to(torch::kDouble) * target_.std;
  const torch::Tensor sums = group.sum(torch::stack({error.pow(2).sum(), error.abs().sum()}));
  const double rmse = std::sqrt(sums[0].item<double>() / n), mae = sums[1].item<double>() / n;
  std::snprintf(line, sizeof line, "RMSE %.4f MAE %.4f", rmse, mae);
  return {{{"test_rmse", rmse}, {"test_mae", mae}}, line};
}

void TabularRecipe::evaluate(const RunContext&, int64_t) { last_ = evaluate(/*trivial=*/false); }

void TabularRecipe::report(const RunContext&, int64_t, Json& record) {
  record.update(last_.record);
  for (const auto& [key, value] : baseline_.record.items()) record["trivial_" + key.substr(5)] = value;
}

std::string TabularRecipe::summary() const {
  return "test " + last_.line + " (trivial predictor: " + baseline_.line + ")";
}

}  // namespace zoo::train
