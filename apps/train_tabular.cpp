// train_tabular: an MLP classifier or regressor over the feature columns of a CSV table
// (data/tabular). The columns are fitted on the training rows (normalisers, learned
// vocabularies) and saved with the checkpoint; each epoch writes the test accuracy and
// macro-F1 (classification) or RMSE and MAE in the target's units (regression) to
// metrics.jsonl, beside the score of the trivial predictor (majority class, or the mean).
#include <cmath>
#include <cstdio>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "data/spec.h"
#include "data/tabular/tabular_dataset.h"
#include "models/nn/eval_mode.h"
#include "models/nn/metric_losses.h"
#include "models/tabular/tabular_net.h"
#include "train/adam.h"
#include "train/trainer.h"

using namespace zoo;

namespace {

Cli make_cli() {
  Cli cli("train_tabular", "Train an MLP classifier or regressor on a CSV table through feature columns");
  cli.common()
      .training({"csv:/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv", "", 32, 3e-3, 0})
      .required("columns", "feature-column specification (JSON; see data/tabular/feature_columns.h)")
      .required("target", "the column to predict")
      .text("task", "auto (text target: classification, number: regression), classification or regression", "auto")
      .real("test-fraction", "fraction of the rows held out for testing (a seeded random split)", 0.2)
      .integer("hidden", "units per hidden layer", 64)
      .integer("layers", "hidden layers", 2)
      .text("activation", "activation of the hidden layers (models/nn/activations.h names)", "relu")
      .real("dropout", "dropout after each hidden layer", 0.1)
      .real("weight-decay", "AdamW weight decay", 1e-4)
      .text("loss", "classification loss: ce, soft_accuracy, soft_f1 or ce+soft_f1", "ce");
  return cli;
}

struct Scores {
  Json record;
  std::string line;
};

// The test scores of `net` (or of the trivial predictor when `net` is null). Each rank of the
// group scores its share of the rows and the sums are added over the ranks.
Scores evaluate(models::TabularNet net, const data::TensorDataset& test, const data::TabularTarget& target,
                const torch::Tensor& trivial, const torch::Device& device, Distributed& group) {
  const auto [first, last] = group.share(test.size());
  const int64_t rows = last - first;
  torch::Tensor predictions;
  if (net) {
    torch::NoGradGuard no_grad;
    const models::EvalMode eval(*net);
    predictions = net->forward(test.inputs().slice(0, first, last).to(device)).cpu();
  } else {
    predictions = trivial.expand({rows, trivial.size(0)});
  }
  const double n = static_cast<double>(test.size());
  char line[160];
  if (target.classification()) {
    const torch::Tensor predicted = predictions.argmax(1), labels = test.labels().slice(0, first, last);
    // Class counts: true positives per class sum to the correct predictions.
    const torch::Tensor counts =
        group.sum(models::class_counts(predicted, labels, static_cast<int64_t>(target.classes.size())));
    const double accuracy = counts[0].sum().item<double>() / n, f1 = models::macro_f1_from_counts(counts);
    std::snprintf(line, sizeof line, "accuracy %.4f macro-F1 %.4f", accuracy, f1);
    return {{{"test_accuracy", accuracy}, {"test_macro_f1", f1}}, line};
  }
  const torch::Tensor error = (predictions - test.targets().slice(0, first, last)).to(torch::kDouble) * target.std;
  const torch::Tensor sums = group.sum(torch::stack({error.pow(2).sum(), error.abs().sum()}));
  const double rmse = std::sqrt(sums[0].item<double>() / n), mae = sums[1].item<double>() / n;
  std::snprintf(line, sizeof line, "RMSE %.4f MAE %.4f", rmse, mae);
  return {{{"test_rmse", rmse}, {"test_mae", mae}}, line};
}

int run(int argc, char** argv) {
  const Cli cli = make_cli();
  const Json options = train::parse_training_flags(cli, argc, argv);
  const bool resume = options["resume"];
  Runtime runtime = setup_runtime(options);
  const std::shared_ptr<Distributed> group = train::join_process_group(runtime);
  models::check_classification_loss(options["loss"]);

  const data::DataSpec spec = data::parse_data_spec(options["data"]);
  if (spec.kind != "csv" || spec.path.empty() || !spec.options.empty())
    throw Error("--data " + options["data"].get<std::string>() + ": train_tabular reads csv:FILE", ErrorKind::usage);
  data::FeatureColumns columns = data::FeatureColumns::read(options["columns"]);
  const data::Table table = data::read_csv(spec.path, columns.csv_options());
  const auto [train_rows, test_rows] = data::split_rows(table.rows(), options["test_fraction"], runtime.seed);
  int64_t limit = options["limit"];
  const data::Table train_table =
      table.select(limit > 0 && limit < static_cast<int64_t>(train_rows.size())
                       ? std::vector<int64_t>(train_rows.begin(), train_rows.begin() + limit)
                       : train_rows);
  const data::Table test_table = table.select(test_rows);
  const data::TabularTarget target = data::fit_target(table, train_table, options["target"], options["task"]);
  columns.fit(train_table);
  const auto train_data =
      std::static_pointer_cast<const data::TensorDataset>(data::tabular_dataset(train_table, columns, target));
  const auto test_data =
      std::static_pointer_cast<const data::TensorDataset>(data::tabular_dataset(test_table, columns, target));

  models::TabularNetOptions net_options;
  net_options.dense = columns.dense_features();
  for (const data::CategoricalSlot& slot : columns.slots()) {
    net_options.buckets.push_back(slot.buckets);
    net_options.embedding_dims.push_back(slot.embedding_dimension);
  }
  net_options.hidden = options["hidden"];
  net_options.layers = options["layers"];
  net_options.activation = options["activation"];
  net_options.dropout = options["dropout"];
  net_options.outputs = target.classification() ? static_cast<int64_t>(target.classes.size()) : 1;
  models::TabularNet net(net_options);
  net->to(runtime.device);
  const Json model_config = {{"model", "tabular_net"},
                             {"config", fields_to_json(net_options)},
                             {"columns", columns.to_json()},
                             {"target", target.to_json()}};

  RunDir run = train::open_run_dir(options, *group);
  const data::DataLoader loader(train_data,
                                train::training_loader_options(options, runtime.seed, train_data->size(), *group));
  train::AdamW optimizer(
      net->parameters(),
      torch::optim::AdamWOptions(options["lr"].get<double>()).weight_decay(options["weight_decay"].get<double>()));
  const int64_t per_epoch = loader.batches_per_epoch();
  train::TrainerOptions trainer_options = train::epoch_trainer_options(options, per_epoch, runtime.device);
  trainer_options.autocast = false;  // a small MLP: nothing to gain
  trainer_options.label = "train tabular_net";
  train::Trainer trainer(run, net.ptr(), model_config, optimizer, loader, trainer_options);
  trainer.set_distributed(group);
  if (resume) trainer.resume();
  const double lr = options["lr"];
  const int64_t total = trainer_options.steps;
  trainer.set_lr_schedule([=](int64_t step) { return train::cosine_with_warmup(lr, step, per_epoch, total); });

  // The trivial predictor: the training rows' majority class, or their mean (0 standardised).
  const torch::Tensor trivial =
      target.classification()
          ? torch::one_hot(torch::bincount(train_data->labels(), {}, net_options.outputs).argmax(), net_options.outputs)
                .to(torch::kFloat)
          : torch::zeros({1});
  const Scores baseline = evaluate(nullptr, *test_data, target, trivial, runtime.device, *group);
  std::fprintf(stderr, "%lld training rows, %lld test rows, %lld features into the MLP; trivial predictor: %s\n",
               static_cast<long long>(train_data->size()), static_cast<long long>(test_data->size()),
               static_cast<long long>(net->feature_width()), baseline.line.c_str());

  Scores last;
  trainer.on_evaluate([&](int64_t) { last = evaluate(net, *test_data, target, trivial, runtime.device, *group); });
  trainer.on_checkpoint([&](int64_t step, MetricsLog& log) {
    Json record = last.record;
    record["step"] = step;
    record["epoch"] = static_cast<double>(step) / static_cast<double>(per_epoch);
    for (const auto& [key, value] : baseline.record.items()) record["trivial_" + key.substr(5)] = value;
    log.write(record);
  });

  models::ClassificationLossOptions loss_options;
  loss_options.name = options["loss"];
  trainer.run([&](const data::Batch& batch, int64_t) {
    const torch::Tensor out = net->forward(batch.inputs.to(runtime.device));
    if (target.classification()) return models::classification_loss(out, batch.labels.to(runtime.device), loss_options);
    return torch::mse_loss(out, batch.targets.to(runtime.device));
  });
  std::printf("test %s (trivial predictor: %s); run directory %s\n", last.line.c_str(), baseline.line.c_str(),
              run.path().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
