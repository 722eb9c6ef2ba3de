"""torchvision's EfficientNet-B0 (random weights, seed 0) as ONNX (opset 13) for ONNX Runtime,
and the logits of a fixed input for the bench to check the runtime against."""
import argparse
import json

import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True, help="model.onnx")
parser.add_argument("--reference", required=True, help="a JSON file: input seed and torchvision's logits")
args = parser.parse_args()
torch.manual_seed(0)
model = torchvision.models.efficientnet_b0()
# Random weights with BatchNorm's initial statistics shrink the activations to nothing (logits
# about 1e-14); statistics of two random batches keep them of order one, as trained ones do.
for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.reset_running_stats()
        module.momentum = None  # a cumulative average
with torch.no_grad():
    for _ in range(2):
        model(torch.randn(8, 3, 224, 224))
model.eval()
x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
with torch.inference_mode():
    logits = model(x)
torch.onnx.export(model, x, args.out, opset_version=13, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
with open(args.reference, "w") as f:
    json.dump({"input": x.flatten().tolist(), "logits": logits.flatten().tolist()}, f)
