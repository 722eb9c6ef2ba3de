#!/usr/bin/python3
"""Export a torchvision classifier with random weights, an input and its logits, for zoo's
parity tests and weight readers. Run with Debian's interpreter (it has torch 1.13 and
torchvision 0.14): /usr/bin/python3 tools/export_torchvision.py --model efficientnet_b0 --out DIR

Writes into DIR:
  weights.safetensors  the eval-mode state_dict (every tensor, num_batches_tracked included)
  input.safetensors    {"input": [batch, 3, size, size]} float32
  logits.safetensors   {"logits": [batch, num_classes]} float32, the model's eval output
  weights.pth          torch.save(state_dict), PyTorch's usual zip archive
  model.pt             torch.jit.script(model) saved with torch.jit.save (TorchScript)

The random weights are made realistic before export: BatchNorm affine parameters are
perturbed and the running statistics are set by a few training-mode forward passes, so a
reader that mishandles eps, running_mean/var or the affine terms gives different logits.

Other modes:
  --keys        print [[name, shape], ...] of the state_dict as JSON and exit
  --param-counts MODEL,MODEL,...  print {"model": number of parameters} as JSON and exit

safetensors is written here with struct + json (the safetensors package is not installed).
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, tensor). Little-endian, C order, offsets contiguous from 0."""
    header = {}
    chunks = []
    offset = 0
    for name, tensor in tensors:
        t = tensor.detach().cpu().contiguous()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)


def build(name, num_classes):
    builder = getattr(torchvision.models, name, None)
    if builder is None:
        sys.exit(f"error: torchvision has no model '{name}'")
    return builder(weights=None, num_classes=num_classes)


def realistic_random_weights(model, size, generator):
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    with torch.no_grad():
        for m in norms:
            m.weight.uniform_(0.5, 1.5, generator=generator)
            m.bias.normal_(0.0, 0.1, generator=generator)
            m.momentum = 0.5  # let a few batches move the statistics even where momentum is 0.01
        model.train()
        for _ in range(2):
            model(torch.randn(4, 3, size, size, generator=generator))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="efficientnet_b0")
    parser.add_argument("--out", help="output directory (created)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keys", action="store_true", help="print the state_dict's names and shapes as JSON")
    parser.add_argument("--param-counts", help="comma-separated models: print their parameter counts as JSON")
    parser.add_argument("--no-torchscript", action="store_true", help="skip model.pt")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    if args.param_counts:
        counts = {}
        for name in args.param_counts.split(","):
            counts[name] = sum(p.numel() for p in build(name, args.num_classes).parameters())
        print(json.dumps(counts))
        return
    model = build(args.model, args.num_classes)
    if args.keys:
        print(json.dumps([[k, list(v.shape)] for k, v in model.state_dict().items()]))
        return
    if not args.out:
        sys.exit("error: --out DIR is required")

    generator = torch.Generator().manual_seed(args.seed)
    # Statistics from a smaller input: same network, cheaper, and realistic enough.
    realistic_random_weights(model, min(args.image_size, 64), generator)
    # Inputs like normalised images.
    x = torch.randn(args.batch, 3, args.image_size, args.image_size, generator=generator)
    with torch.no_grad():
        logits = model(x)

    os.makedirs(args.out, exist_ok=True)
    state = model.state_dict()
    meta = {"model": args.model, "source": f"torchvision {torchvision.__version__}", "num_classes": args.num_classes}
    write_safetensors(os.path.join(args.out, "weights.safetensors"), list(state.items()), meta)
    write_safetensors(os.path.join(args.out, "input.safetensors"), [("input", x)])
    write_safetensors(os.path.join(args.out, "logits.safetensors"), [("logits", logits)])
    torch.save(state, os.path.join(args.out, "weights.pth"))
    if not args.no_torchscript:
        try:
            scripted = torch.jit.script(model)
        except Exception:  # a model TorchScript cannot compile: trace it instead
            scripted = torch.jit.trace(model, x)
        torch.jit.save(scripted, os.path.join(args.out, "model.pt"))
    print(json.dumps({"model": args.model, "out": args.out, "tensors": len(state),
                      "logits_abs_max": float(logits.abs().max())}))


if __name__ == "__main__":
    main()
