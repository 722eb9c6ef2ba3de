"""The same workload as bench/mlp_step.cpp in PyTorch: prints steps/s as JSON."""
import argparse
import json
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--device", default="cpu")
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--warmup", type=int, default=30)
args = parser.parse_args()
torch.set_num_threads(args.threads)
device = torch.device(args.device)
model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.SiLU(), torch.nn.Linear(256, 256), torch.nn.SiLU(),
                            torch.nn.Linear(256, 256), torch.nn.SiLU(), torch.nn.Linear(256, 10)).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x, y = torch.randn(256, 64, device=device), torch.randn(256, 10, device=device)


def step():
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()


for _ in range(args.warmup):
    step()
if device.type == "cuda":
    torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(args.steps):
    step()
if device.type == "cuda":
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
print(json.dumps({"workload": "mlp_step", "impl": "pytorch", "threads": args.threads, "device": args.device,
                  "steps_per_second": args.steps / seconds}))
