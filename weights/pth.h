#pragma once
// Files written by PyTorch's torch.save (the zip format, PyTorch 1.6 and later), read
// without Python. LibTorch's torch::pickle_load cannot read them when the top object is
// a collections.OrderedDict, as every state_dict() is (pytorch issue 36577), so this
// reader has its own unpickler for the subset of pickle that torch.save emits. It never
// runs code from the file, and like torch.load(weights_only=True) it refuses a pickle that
// names any Python global beyond the few that tensors and plain containers need (see
// PthOptions).
//
// Accepted layouts: a state dict (dict or OrderedDict of name -> tensor) at the top, or a
// checkpoint dict holding one under "state_dict", "model", "model_state_dict", "module",
// "state_dict_ema", "ema" or "model_ema" (the first of those keys that holds a state dict
// wins); the checkpoint's other int, float, bool and str entries ("epoch": 3) become
// scalars. When every tensor name starts with "module." (DataParallel) or "model.", that
// prefix is removed.
//
// Dtypes: float32/64/16, bfloat16, int64/32/16/8, uint8, bool. Each tensor comes back
// contiguous with its own memory: views of one storage (a[2:5], a.t()) are copied out, so
// writing to one tensor never changes another; storages are read once whatever the number
// of tensors over them.
//
// A truncated, corrupt or hostile file gives a zoo::Error naming the file and the record
// or key, never a crash, a read out of bounds or memory out of proportion to the file.
// Files in the legacy (pre-1.6) format get an error saying how to re-save them.
#include <torch/torch.h>

#include <map>
#include <string>

#include "weights/safetensors.h"

namespace zoo::weights {

struct PthFile {
  NamedTensors tensors;                        // in the order of the state dict
  std::map<std::string, std::string> scalars;  // e.g. "epoch" -> "3", "lr" -> "0.1", "arch" -> "resnet18"
};

// How far a file is trusted.
struct PthOptions {
  // By default a pickle may name only the globals torch.load(weights_only=True) allows:
  // tensor rebuilders, storage types, dtypes, torch.Size, torch.device, OrderedDict and
  // other plain containers. Any other (os.system, a model's own class) is refused where the
  // pickle names it. When true such names are tolerated as opaque values, which is fine
  // anywhere but where tensors are expected. Nothing is run either way: the flag
  // --allow-unknown-globals sets it for files a user trusts.
  bool allow_unknown_globals = false;
};

PthFile read_pth(const std::string& path, const PthOptions& options = {});
// The same reader over the bytes of a file; source_name stands for the file in errors.
PthFile parse_pth(std::string bytes, const std::string& source_name, const PthOptions& options = {});

}  // namespace zoo::weights
