// compare_samplers: the same seeds drawn by several samplers within one budget of network
// evaluations, as one picture (a row of images, or a scatter panel for 2-D points, per
// sampler) and a table of steps, NFE and time; with --samples-dir also each sampler's
// samples (.safetensors, as sample_diffusion writes them) for evaluate_samples to score.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/image.h"
#include "core/options.h"
#include "core/plot.h"
#include "core/runtime.h"
#include "core/strings.h"
#include "models/diffusion/generate.h"
#include "train/diffusion_io.h"
#include "train/sample_file.h"

using namespace zoo;
namespace dm = zoo::diffusion;

namespace {

struct CompareOptions : CommonOptions {
  std::string checkpoint, out, samples_dir, format = "table";
  std::vector<std::string> samplers;
  int64_t nfe = 10, n = 0, label = -1, batch_size = 256;
  double guidance = 1;
  bool no_ema = false;
};

Flags<CompareOptions> flags() {
  using O = CompareOptions;
  Flags<O> flags("compare_samplers", "The same seeds under several samplers within one budget of network evaluations");
  flags.common()
      .required("checkpoint", "run directory or checkpoint file of train_diffusion", &O::checkpoint)
      .required("out", "the picture (.png): one row of images, or one scatter, per sampler", &O::out)
      .texts("samplers", "the samplers, comma-separated (default: every fixed-step sampler)", &O::samplers)
      .integer("nfe", "network evaluations per sample each sampler may take", &O::nfe, Bounds::at_least(1))
      .integer("n", "samples per sampler (0: 8 images or 5000 points)", &O::n, Bounds::at_least(0))
      .integer("class", "class of every sample for a conditional model (−1: cycle through the classes)", &O::label,
               Bounds::at_least(-1))
      .real("guidance", "classifier-free guidance scale (1 = the conditional model alone)", &O::guidance)
      .integer("batch-size", "samples per network batch", &O::batch_size, Bounds::at_least(1))
      .text("samples-dir", "also write DIR/SAMPLER.safetensors for each sampler", &O::samples_dir)
      .flag("no-ema", "use the raw training weights instead of their EMA", &O::no_ema)
      .format(&O::format);
  return flags;
}

struct Row {
  std::string sampler;
  int64_t steps, nfe;
  double seconds;
};

int run(int argc, char** argv) {
  CompareOptions o = flags().parse(argc, argv);
  const Runtime runtime = setup_runtime(o);
  if (!ends_with(o.out, ".png")) throw Error("--out " + o.out + ": expected a .png path", ErrorKind::usage);
  if (o.samplers.empty())
    for (const auto& entry : dm::samplers().entries())
      if (entry.value.evaluations > 0) o.samplers.push_back(entry.name);
  for (const std::string& name : o.samplers) dm::steps_within(name, o.nfe);  // every name checked before any work

  train::LoadedDiffusion loaded = train::load_diffusion(o.checkpoint, !o.no_ema);
  const dm::DiffusionModel& model = *loaded.model;
  model.net()->to(runtime.device);
  const bool points = model.config().shape == std::vector<int64_t>{2};
  const int64_t n = o.n > 0 ? o.n : points ? 5000 : 8, classes = model.num_classes();
  const torch::Tensor labels = dm::class_labels(n, o.label, classes);
  if (!o.samples_dir.empty()) std::filesystem::create_directories(o.samples_dir);

  std::vector<Row> rows;
  std::vector<torch::Tensor> panels;
  for (const std::string& name : o.samplers) {
    dm::GenerateOptions g;
    g.sampler = name;
    g.schedule = dm::default_schedule(loaded.objective, dm::steps_within(name, o.nfe));
    g.sampler_options.seed = runtime.seed;
    g.batch_size = o.batch_size;
    g.guidance = o.guidance;
    g.device = runtime.device;
    g.progress = "sample " + name;
    const dm::Generated generated = dm::generate(model, n, labels, g);
    const torch::Tensor samples = model.to_data_space(generated.samples);
    rows.push_back({name, g.schedule.steps, generated.nfe, generated.seconds});
    if (!o.samples_dir.empty())
      train::write_sample_file(o.samples_dir + "/" + name + ".safetensors", {samples, labels});
    if (points) {
      ScatterOptions scatter;  // half the usual size: a panel among many
      scatter.size = 256;
      scatter.cell = 2;
      scatter.title = name + ", NFE " + std::to_string(generated.nfe);
      panels.push_back(scatter_plot(samples, scatter).unsqueeze(0));
    } else {
      panels.push_back(samples.expand({n, 3, samples.size(2), samples.size(3)}));
    }
  }
  GridOptions grid;
  const auto count = static_cast<double>(panels.size());
  grid.columns = points ? static_cast<int64_t>(std::ceil(std::sqrt(count))) : n;
  const std::string written = save_image(o.out, make_grid(torch::cat(panels), grid));

  if (o.format == "json") {
    Json report = Json::array();
    for (const Row& row : rows)
      report.push_back({{"sampler", row.sampler}, {"steps", row.steps}, {"nfe", row.nfe}, {"seconds", row.seconds}});
    std::printf("%s\n", Json{{"samplers", report}, {"picture", written}}.dump(2).c_str());
    return 0;
  }
  std::printf("%-24s %6s %5s %9s\n", "sampler", "steps", "NFE", "seconds");
  for (const Row& row : rows)
    std::printf("%-24s %6lld %5lld %9.2f\n", row.sampler.c_str(), static_cast<long long>(row.steps),
                static_cast<long long>(row.nfe), row.seconds);
  std::printf("wrote %s (%s, the same seeds in each)\n", written.c_str(),
              points ? "one scatter per sampler" : "one row per sampler, in this order");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
