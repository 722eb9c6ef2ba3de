#!/usr/bin/python3
"""Conv nets for the receptive-field tests, saved as TorchScript, with the receptive field
PyTorch itself measures on them.

  trace_conv_nets.py --model NAME --input-size N --out DIR [--script]

writes DIR/NAME.pt (torch.jit.trace, or torch.jit.script with --script) and prints one JSON
line: the file, the measured layer and the input pixels (first and last row and column)
that receive gradient from that layer's centre unit ((size - 1) // 2 per axis).

The measurement runs the real torchvision module in float64 with every weight positive,
batch norm as the identity, max pooling as average pooling and squeeze-excitation removed,
so a pixel gets gradient exactly when some path through convolutions and pooling reaches it:
the local receptive field, computed by autograd rather than by any formula.
"""
import argparse
import json
import os

import torch
import torch.nn as nn
import torchvision


class Dilated(nn.Module):
    """A single-path net with dilations, rectangular kernels, a stride and asymmetric padding."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.conv3 = nn.Conv2d(8, 8, (3, 5), stride=2, padding=(1, 0), dilation=(4, 1))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.pad = nn.ZeroPad2d((1, 0, 2, 0))
        self.conv4 = nn.Conv2d(8, 8, 5, dilation=3)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.relu(self.conv3(x))
        x = self.pool(x)
        return self.conv4(self.pad(x))


class UnknownOp(nn.Module):
    """A conv net with an operator the analysis does not read (a circular shift)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.conv2 = nn.Conv2d(4, 4, 3)

    def forward(self, x):
        return self.conv2(torch.roll(self.conv1(x), 1, 2))


def build(name):
    """The module, and the submodule whose output is measured (None: the output)."""
    if name == "vgg16_features":
        return torchvision.models.vgg16().features, None
    if name == "alexnet_features":
        return torchvision.models.alexnet().features, None
    if name in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, name)()
        return model, model.layer4
    if name == "efficientnet_b0":
        model = torchvision.models.efficientnet_b0()
        return model, model.features
    if name == "dilated":
        return Dilated(), None
    if name == "unknown_op":
        return UnknownOp(), None
    raise SystemExit(f"unknown model {name}")


def replace(module, kind, make):
    for child_name, child in module.named_children():
        if isinstance(child, kind):
            setattr(module, child_name, make(child))
        else:
            replace(child, kind, make)


def measure(model, layer, size):
    """First and last row and column with gradient from the centre unit of `layer`."""
    model = model.double().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.eps = 0.0
    replace(model, nn.MaxPool2d,
            lambda p: nn.AvgPool2d(p.kernel_size, p.stride, p.padding, ceil_mode=p.ceil_mode))
    replace(model, torchvision.ops.SqueezeExcitation, lambda se: nn.Identity())
    captured = {}
    target = layer if layer is not None else model
    target.register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    x = torch.ones(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    model(x)
    out = captured["out"]
    h, w = out.shape[2], out.shape[3]
    out[0, :, (h - 1) // 2, (w - 1) // 2].sum().backward()
    seen = x.grad[0].abs().sum(0) != 0
    rows = seen.any(1).nonzero().flatten()
    cols = seen.any(0).nonzero().flatten()
    return {"first": [rows.min().item(), cols.min().item()], "last": [rows.max().item(), cols.max().item()],
            "output_shape": list(out.shape)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--out", required=True)
    parser.add_argument("--script", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model, _ = build(args.model)
    model.eval()
    path = os.path.join(args.out, args.model + (".scripted" if args.script else "") + ".pt")
    example = torch.zeros(1, 3, args.input_size, args.input_size)
    saved = torch.jit.script(model) if args.script else torch.jit.trace(model, example)
    saved.save(path)

    result = {"file": path}
    if args.model != "unknown_op":
        fresh, layer = build(args.model)  # the measurement changes the weights and the pooling
        result["region"] = measure(fresh, layer, args.input_size)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
