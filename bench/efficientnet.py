"""The workloads of bench/efficientnet.cpp in torchvision, the ways a user who wants speed runs
them: eager, channels-last, or (inference) traced, frozen and optimize_for_inference, or
(inference) channels-last in bfloat16 throughout (bf16).
Prints images/s and peak RSS as JSON."""
import argparse
import json
import resource
import time

import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument("--workload", default="infer", choices=["infer", "train"])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--device", default="cpu")
parser.add_argument("--iterations", type=int, default=10)
parser.add_argument("--mode", default="eager", choices=["eager", "channels_last", "frozen", "bf16"])
parser.add_argument("--batch", type=int, default=0, help="0: 128 for train, 8 for infer")
args = parser.parse_args()
torch.set_num_threads(args.threads)
train = args.workload == "train"
if train and args.mode in ("frozen", "bf16"):
    parser.error("--mode " + args.mode + " is for inference")
batch, size = (128, 32) if train else (8, 224)
batch = args.batch or batch
model = torchvision.models.efficientnet_b0(num_classes=10 if train else 1000).to(args.device)
x = torch.randn(batch, 3, size, size, device=args.device)
if args.mode in ("channels_last", "bf16"):
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
if args.mode == "bf16":
    model, x = model.to(torch.bfloat16), x.to(torch.bfloat16)
y = torch.randint(0, 10, (batch,), device=args.device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
if train:
    model.train()

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
else:
    model.eval()
    if args.mode == "frozen":
        with torch.no_grad():
            model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x)))

    def step():
        with torch.no_grad() if args.mode == "frozen" else torch.inference_mode():
            model(x)

step()
if args.device.startswith("cuda"):
    torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(args.iterations):
    step()
if args.device.startswith("cuda"):
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
print(json.dumps({"workload": "b0_" + args.workload, "impl": "torchvision " + args.mode, "threads": args.threads,
                  "batch": batch,
                  "images_per_second": args.iterations * batch / seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
