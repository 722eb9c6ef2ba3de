#include "weights/checkpoint.h"

#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/seed.h"
#include "weights/state_dict.h"

namespace zoo::weights {
namespace fs = std::filesystem;

void save_checkpoint(const std::string& stem, const torch::nn::Module& model, const Json& model_config,
                     const TrainState& state, torch::optim::Optimizer* optimizer) {
  if (optimizer) {
    torch::serialize::OutputArchive archive;
    optimizer->save(archive);
    archive.write("zoo_rng_state", cpu_rng_state());
    archive.write("zoo_step", torch::tensor(state.step, torch::kLong));
    std::ostringstream bytes;
    archive.save_to(bytes);
    write_file_atomic(stem + ".train.pt", bytes.str());
  }
  write_safetensors(stem + ".safetensors", state_dict(model),
                    {{"zoo.model", model_config.dump()}, {"zoo.step", std::to_string(state.step)},
                     {"zoo.extra", state.extra.dump()}});
}

namespace {

int64_t metadata_step(const SafeTensors& file) {
  auto it = file.metadata.find("zoo.step");
  if (it == file.metadata.end()) return -1;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw Error(file.source + ": metadata zoo.step is not a number");
  }
}

Json metadata_json(const SafeTensors& file, const std::string& key) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) return nullptr;
  try {
    return Json::parse(it->second);
  } catch (const Json::parse_error&) {
    throw Error(file.source + ": metadata " + key + " is not valid JSON");
  }
}

}  // namespace

TrainState load_training_checkpoint(const std::string& stem, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer) {
  const SafeTensors weights = read_safetensors(stem + ".safetensors");
  const std::string train_path = stem + ".train.pt";
  if (!fs::exists(train_path)) throw Error(train_path + ": missing: the run cannot be resumed exactly without it");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(train_path);
  } catch (const c10::Error&) {
    throw Error(train_path + ": not a readable training-state archive");
  }
  torch::Tensor step, rng;
  archive.read("zoo_step", step);
  archive.read("zoo_rng_state", rng);
  TrainState state;
  state.step = step.item<int64_t>();
  if (state.step != metadata_step(weights))
    throw Error(stem + ": weights are from step " + std::to_string(metadata_step(weights)) +
                " but the training state from step " + std::to_string(state.step));
  load_state_dict(model, weights.tensors, /*strict=*/true);
  optimizer.load(archive);
  set_cpu_rng_state(rng);
  const Json extra = metadata_json(weights, "zoo.extra");
  if (extra.is_object()) state.extra = extra;
  return state;
}

ModelCheckpoint read_checkpoint(const std::string& file_or_run_dir, bool prefer_ema) {
  std::string path = file_or_run_dir;
  if (fs::is_directory(path)) {
    const std::string best = path + "/checkpoints/best.safetensors", last = path + "/checkpoints/last.safetensors";
    if (fs::exists(best))
      path = best;
    else if (fs::exists(last))
      path = last;
    else
      throw Error("--checkpoint " + file_or_run_dir + ": a directory without checkpoints/best.safetensors or last.safetensors");
  } else if (!fs::exists(path)) {
    throw Error("--checkpoint " + path + ": no such file or run directory");
  }
  ModelCheckpoint checkpoint;
  checkpoint.path = path;
  checkpoint.weights = read_safetensors(path);
  checkpoint.model_config = metadata_json(checkpoint.weights, "zoo.model");
  checkpoint.step = metadata_step(checkpoint.weights);
  const std::string suffix = ".safetensors";
  if (prefer_ema && path.size() > suffix.size() && ends_with(path, suffix)) {
    const std::string ema = path.substr(0, path.size() - suffix.size()) + ".ema" + suffix;
    if (fs::exists(ema)) {
      checkpoint.weights = read_safetensors(ema);
      checkpoint.path = ema;
    }
  }
  return checkpoint;
}

ModelCheckpoint read_checkpoint_of(const std::string& model, const std::string& file_or_run_dir, bool prefer_ema) {
  ModelCheckpoint file = read_checkpoint(file_or_run_dir, prefer_ema);
  const Json& saved = file.model_config;
  if (!saved.is_object() || saved.value("model", "") != model)
    throw Error(file.path + " is not a " + model + " checkpoint (it holds " +
                    (saved.is_object() && saved.contains("model") ? "a '" + saved["model"].get<std::string>() + "' model"
                                                                 : std::string("no zoo model config")) +
                    ")",
                ErrorKind::input);
  return file;
}

}  // namespace zoo::weights
