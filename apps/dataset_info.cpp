// dataset_info: what a data spec holds — counts, shape, classes, per-channel mean/std —
// and a picture of it (a grid of the first 64 images, or a scatter plot of 2-D points).
#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "core/image.h"
#include "core/options.h"
#include "core/plot.h"
#include "core/runtime.h"
#include "data/spec.h"
#include "data/statistics.h"

using namespace zoo;

namespace {

// One pass over a split: count, per-channel mean and std (per coordinate for points), in
// double, and examples per class.
Json describe(const data::Dataset& dataset) {
  std::vector<int64_t> per_class(static_cast<size_t>(dataset.info().num_classes()), 0);
  const data::ChannelStats stats = data::channel_stats(dataset, -1, [&](const data::Example& example) {
    if (example.label >= 0 && example.label < static_cast<int64_t>(per_class.size()))
      ++per_class[static_cast<size_t>(example.label)];
  });
  return {{"examples", dataset.size()}, {"mean", stats.mean}, {"std", stats.std}, {"class_counts", per_class}};
}

std::string write_picture(const data::Dataset& dataset, const std::string& path) {
  if (dataset.info().is_image()) {
    std::vector<torch::Tensor> images;
    for (int64_t i = 0; i < std::min<int64_t>(64, dataset.size()); ++i) images.push_back(dataset.get(i).input);
    return save_image(path, make_grid(torch::stack(images)));
  }
  if (dataset.info().shape == std::vector<int64_t>{2}) {
    std::vector<torch::Tensor> points;
    for (int64_t i = 0; i < dataset.size(); ++i) points.push_back(dataset.get(i).input);
    ScatterOptions options;
    options.title = dataset.info().name;
    return save_image(path, scatter_plot(torch::stack(points), options));
  }
  throw Error("--grid: no picture for examples of shape " + c10::str(dataset.info().shape), ErrorKind::usage);
}

void print_table(const Json& report, const data::DatasetInfo& info) {
  std::printf("%s\n", info.name.c_str());
  std::printf("  example shape  %s\n", c10::str(info.shape).c_str());
  for (const char* split : {"train", "test"}) {
    const Json& s = report["splits"][split];
    std::printf("  %-5s          %lld examples, mean %s, std %s\n", split,
                static_cast<long long>(s["examples"].get<int64_t>()), s["mean"].dump().c_str(),
                s["std"].dump().c_str());
  }
  if (info.num_classes() > 0) {
    std::printf("  classes        %lld\n", static_cast<long long>(info.num_classes()));
    for (int64_t c = 0; c < info.num_classes(); ++c)
      std::printf("    %2lld %-14s train %6lld  test %6lld\n", static_cast<long long>(c),
                  info.classes[static_cast<size_t>(c)].c_str(),
                  static_cast<long long>(report["splits"]["train"]["class_counts"][c].get<int64_t>()),
                  static_cast<long long>(report["splits"]["test"]["class_counts"][c].get<int64_t>()));
  }
  if (report.contains("grid")) std::printf("  picture        %s\n", report["grid"].get<std::string>().c_str());
}

struct InfoOptions : CommonOptions {
  std::string data = "fashion-mnist";
  int64_t limit = 0;
  std::string grid;
  std::string format = "table";
};

Flags<InfoOptions> flags() {
  using O = InfoOptions;
  Flags<O> flags("dataset_info", "Describe a dataset: counts, shape, classes, mean/std, and a picture of it");
  flags.common()
      .text("data", "dataset spec (fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, folder:DIR, toy:NAME)",
            &O::data)
      .integer("limit", "use only the first N examples of each split (0 = all)", &O::limit, Bounds::at_least(0))
      .text("grid", "write a picture of the training split to this PNG file", &O::grid)
      .format(&O::format);
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    const InfoOptions options = flags().parse(argc, argv);
    setup_runtime(options);
    const std::string& spec = options.data;
    const int64_t limit = options.limit;
    const data::DatasetPtr train = data::open_dataset(spec, data::Split::train, limit);
    const data::DatasetPtr test = data::open_dataset(spec, data::Split::test, limit);
    const auto& info = train->info();
    // Class counts of both splits are printed against one class list: labels are positions
    // in it, so a split with another list would be counted against the wrong names.
    if (test->info().classes != info.classes)
      throw Error("--data " + spec + ": the test split has " + std::to_string(test->info().num_classes()) +
                  " classes, the training split " + std::to_string(info.num_classes()) + "; they must be the same");
    Json report = {{"data", spec},
                   {"name", info.name},
                   {"shape", info.shape},
                   {"classes", info.classes},
                   {"splits", {{"train", describe(*train)}, {"test", describe(*test)}}}};
    if (!options.grid.empty()) report["grid"] = write_picture(*train, options.grid);

    if (options.format == "json")
      std::cout << report.dump(2) << std::endl;
    else
      print_table(report, info);
    return 0;
  });
}
