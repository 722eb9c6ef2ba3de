#pragma once
// Parameter names of EfficientNet (B family) in the three codebases whose weights users
// bring: torchvision (zoo's own names), timm, and lukemelas/EfficientNet-PyTorch. The
// names differ but the tensors are the same, so a name map is all a conversion needs.
//
//   torchvision  features.0.{0,1}  features.S.B.block.{i}.{0 conv, 1 bn | fc1, fc2}  features.8.{0,1}  classifier.1
//   timm         conv_stem bn1     blocks.s.b.{conv_pw bn1 conv_dw bn2 se.conv_reduce se.conv_expand conv_pwl bn3}
//                                  (stage 0: conv_dw bn1 se.* conv_pw bn2)             conv_head bn2     classifier
//   lukemelas    _conv_stem _bn0   _blocks.N.{_expand_conv _bn0 _depthwise_conv _bn1 _se_reduce _se_expand
//                                  _project_conv _bn2} (N counts blocks over all stages) _conv_head _bn1   _fc
#include <string>
#include <utility>
#include <vector>

#include "weights/safetensors.h"

namespace zoo::weights {

enum class NameScheme { torchvision, timm, lukemelas };
NameScheme parse_name_scheme(const std::string& name);  // "torchvision", "timm" or "lukemelas"
std::string to_string(NameScheme scheme);

// What the names depend on: blocks per stage, and whether a stage's blocks have an
// expansion convolution (expand ratio != 1).
struct StageLayout {
  int64_t blocks;
  bool expand;
};

// (torchvision name, name in `scheme`) for every tensor of the network.
std::vector<std::pair<std::string, std::string>> efficientnet_name_pairs(const std::vector<StageLayout>& stages,
                                                                         NameScheme scheme);

// Renames every tensor from one scheme to another; a name the map does not know is an
// error listing it (with the total count), so a wrong --from or model is caught at once.
NamedTensors rename_efficientnet(const NamedTensors& tensors, const std::vector<StageLayout>& stages, NameScheme from,
                                 NameScheme to);

}  // namespace zoo::weights
