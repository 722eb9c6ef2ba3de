#!/usr/bin/env bash
# Writes the fuzzers' seed corpus: a few tiny valid files of each format, made by
# PyTorch (Debian's python3-torch, under /usr/bin/python3). Run from anywhere:
#   bash fuzz/make_corpus.sh
# fuzz/corpus/pth/*.pkl are the data.pkl pickles alone, which fuzz_pth packs into an
# archive itself (see fuzz_pth.cpp); their storages must fit its 1024-byte records.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/corpus"
rm -rf "$out/safetensors" "$out/pth"
mkdir -p "$out/safetensors" "$out/pth"

/usr/bin/python3 - "$out" <<'PY'
import json, struct, sys, zipfile
import torch

out = sys.argv[1]
torch.manual_seed(0)

def safetensors(path, tensors, metadata=None):
    names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.contiguous()
        data = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

def pth(name, obj, **kwargs):
    path = f"{out}/pth/{name}.pth"
    torch.save(obj, path, **kwargs)
    with zipfile.ZipFile(path) as archive:
        pickle = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        open(f"{out}/pth/{name}.pkl", "wb").write(archive.read(pickle))

dtypes = {
    "f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
    "f64": torch.arange(3, dtype=torch.float64),
    "f16": torch.arange(2, dtype=torch.float16),
    "bf16": torch.arange(2, dtype=torch.bfloat16),
    "i64": torch.arange(2, dtype=torch.int64),
    "i32": torch.arange(2, dtype=torch.int32),
    "i16": torch.arange(2, dtype=torch.int16),
    "i8": torch.arange(2, dtype=torch.int8),
    "u8": torch.arange(2, dtype=torch.uint8),
    "bool": torch.tensor([True, False]),
    "scalar": torch.tensor(1.5),
    "empty": torch.zeros(0, 2),
}
safetensors(f"{out}/safetensors/empty.safetensors", {})
safetensors(f"{out}/safetensors/dtypes.safetensors", dtypes, {"format": "pt"})

model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
sd = model.state_dict()
a = torch.arange(6.)
pth("state_dict", sd)
pth("protocol4", sd, pickle_protocol=4)
pth("checkpoint", {"model": sd, "epoch": 3, "lr": 0.1, "arch": "tiny", "best": True, "note": None})
pth("shared", {"a": a, "b": a[1:3], "c": a.view(2, 3).t(), "p": torch.nn.Parameter(torch.ones(2))})
pth("dtypes", dtypes)
PY
du -cb "$out"/safetensors/* "$out"/pth/* | tail -1
