#include "weights/state_dict.h"

#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace zoo::weights {
namespace {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

void collect(const torch::nn::Module& module, const std::string& prefix, NamedTensors& out) {
  // LibTorch registers absent tensors (a Linear without bias) as undefined; PyTorch's
  // state dict leaves them out.
  auto add = [&](const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
    for (const auto& item : tensors)
      if (item.value().defined()) out.emplace_back(prefix + item.key(), item.value().detach());
  };
  add(module.named_parameters(/*recurse=*/false));
  add(module.named_buffers(/*recurse=*/false));
  for (const auto& child : module.named_children()) collect(*child.value(), prefix + child.key() + ".", out);
}

enum class DtypeKind { floating, integral, boolean, complex };

DtypeKind kind_of(torch::ScalarType type) {
  if (type == torch::kBool) return DtypeKind::boolean;
  if (c10::isComplexType(type)) return DtypeKind::complex;
  if (c10::isFloatingType(type)) return DtypeKind::floating;
  return DtypeKind::integral;
}

// "[4, 3] float"
std::string describe(const torch::Tensor& tensor) {
  std::string type = c10::toString(tensor.scalar_type());
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c10::str(tensor.sizes()) + " " + type;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// "; missing: a, b; unexpected: c; mismatched: d: expected ..., got ..." (only non-empty parts)
std::string problems(const LoadReport& report) {
  std::string out;
  if (!report.missing.empty()) out += "; missing: " + join(report.missing, ", ");
  if (!report.unexpected.empty()) out += "; unexpected: " + join(report.unexpected, ", ");
  if (!report.mismatched.empty()) out += "; mismatched: " + join(report.mismatched, "; ");
  return out;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module) {
  NamedTensors out;
  collect(module, "", out);
  return out;
}

bool LoadReport::ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }

std::string LoadReport::summary() const {
  return "loaded " + std::to_string(loaded.size()) + " tensors" + problems(*this);
}

LoadReport load_state_dict(torch::nn::Module& module, const NamedTensors& tensors, bool strict) {
  std::unordered_map<std::string, const torch::Tensor*> given;
  for (const auto& [name, tensor] : tensors)
    if (!given.emplace(name, &tensor).second) throw Error("tensor '" + name + "' is given twice");

  // Everything is checked before anything is copied, so a strict failure changes nothing.
  LoadReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (module's tensor, source)
  std::unordered_set<std::string> known;
  for (const auto& [name, target] : state_dict(module)) {
    known.insert(name);
    auto found = given.find(name);
    if (found == given.end()) {
      report.missing.push_back(name);
      continue;
    }
    const torch::Tensor& source = *found->second;
    if (source.sizes() == target.sizes() && kind_of(source.scalar_type()) == kind_of(target.scalar_type())) {
      report.loaded.push_back(name);
      copies.emplace_back(target, source);
    } else {
      report.mismatched.push_back(name + ": expected " + describe(target) + ", got " + describe(source));
    }
  }
  for (const auto& [name, tensor] : tensors)
    if (!known.count(name)) report.unexpected.push_back(name);

  if (strict && !report.ok()) throw Error("state dict does not fit the module, nothing was loaded" + problems(report));
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source);  // target shares the module's storage
  return report;
}

}  // namespace zoo::weights
