"""The flow workloads of bench/flows.cpp in PyTorch (eager), and the NICE reference run.

  nice_train    NICE training steps (the MNIST configuration: 4 additive couplings on odd/even
                halves, 5 x 1000 ReLU MLPs, diagonal scaling, logistic prior) at batch 256 on
                dequantised 28x28 images
  glow_sample   Glow sampling (L = 2, K = 8, 256 hidden channels, LU 1x1 convolutions, learned
                split and top priors) of 1x28x28 images at temperature 0.7
  nice_quality  train_flow --model nice on Fashion-MNIST reproduced in Python: same model,
                initialisation scheme, optimiser, warmup, clipping, batch size, epochs and seed;
                prints the test bits/dim

Both networks are rebuilt layer by layer like zoo's (equal parameter counts say so). Prints JSON.
"""
import argparse
import gzip
import json
import math
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--workload", default="nice_train", choices=["nice_train", "glow_sample", "nice_quality"])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--device", default="cpu")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--steps", type=int, default=20, help="timed steps (nice_train) or sampling passes (glow_sample)")
parser.add_argument("--batch", type=int, default=0, help="0 = 256 (nice) or 64 (glow)")
parser.add_argument("--epochs", type=int, default=5, help="nice_quality")
parser.add_argument("--lr", type=float, default=1e-3, help="nice_quality")
parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="nice_quality")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
device = torch.device(args.device)
LOG256 = math.log(256.0)


def zero_last(seq):
    with torch.no_grad():
        for p in seq[-1].parameters():
            p.zero_()


class AdditiveCoupling(nn.Module):
    """y_b = x_b + m(x_a) with (a, b) the even/odd indices (swapped on odd layers)."""

    def __init__(self, d, hidden, layers, swap):
        super().__init__()
        idx = torch.arange(d)
        keep, change = idx[0::2], idx[1::2]
        self.register_buffer("keep", change if swap else keep)
        self.register_buffer("change", keep if swap else change)
        mods, width = [], len(self.keep)
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        mods.append(nn.Linear(width, len(self.change)))
        self.net = nn.Sequential(*mods)
        zero_last(self.net)

    def forward(self, x):
        y = x.clone()
        y[:, self.change] = x[:, self.change] + self.net(x[:, self.keep])
        return y


class Nice(nn.Module):
    def __init__(self, d=784, couplings=4, hidden=1000, layers=5):
        super().__init__()
        self.couplings = nn.ModuleList(AdditiveCoupling(d, hidden, layers, i % 2 == 1) for i in range(couplings))
        self.log_scale = nn.Parameter(torch.zeros(1, d))

    def log_prob(self, x):
        z = x.flatten(1)
        for c in self.couplings:
            z = c(z)
        z = z * self.log_scale.exp()
        prior = -(F.softplus(z) + F.softplus(-z)).sum(1)
        return prior + self.log_scale.sum()


def nice_loss(model, x):
    """Bits/dim of x = k/255 dequantised to (k + u)/256."""
    deq = (torch.round(x * 255) + torch.rand_like(x)) / 256
    d = x[0].numel()
    return ((-model.log_prob(deq) + d * LOG256) / (d * math.log(2))).mean()


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, c, 1, 1))

    def inverse(self, y):
        return y * (-self.log_scale).exp() - self.bias


class InvConvLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))[0]
        p, l, u = torch.linalg.lu(w)
        s = u.diagonal()
        self.register_buffer("p", p.float())
        self.register_buffer("sign_s", s.sign().float())
        self.lower = nn.Parameter(l.tril(-1).float())
        self.upper = nn.Parameter(u.triu(1).float())
        self.log_s = nn.Parameter(s.abs().log().float())

    def inverse(self, y):
        c = self.lower.shape[0]
        w = self.p @ (self.lower.tril(-1) + torch.eye(c, device=self.lower.device)) @ (self.upper.triu(1) + torch.diag(self.sign_s * self.log_s.exp()))
        w_inv = torch.inverse(w.double()).float()
        return F.conv2d(y, w_inv.view(c, c, 1, 1))


class GlowCoupling(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, c, 3, padding=1))
        zero_last(self.net)

    def inverse(self, y):
        ya, yb = y[:, : y.shape[1] // 2], y[:, y.shape[1] // 2:]
        raw, shift = self.net(ya).chunk(2, 1)
        return torch.cat([ya, (yb - shift) * torch.exp(-F.logsigmoid(raw + 2))], 1)


def unsqueeze(y):
    b, c, h, w = y.shape
    return y.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)


class Glow(nn.Module):
    def __init__(self, shape=(1, 28, 28), levels=2, steps=8, hidden=256):
        super().__init__()
        self.levels, self.priors, self.shapes = nn.ModuleList(), nn.ModuleList(), []
        c, h, w = shape
        for level in range(levels):
            c, h, w = c * 4, h // 2, w // 2
            self.levels.append(nn.ModuleList(m for _ in range(steps) for m in (ActNorm(c), InvConvLU(c), GlowCoupling(c, hidden))))
            self.shapes.append((c, h, w))
            if level + 1 < levels:
                prior = nn.Conv2d(c // 2, c, 3, padding=1)
                nn.init.zeros_(prior.weight)
                nn.init.zeros_(prior.bias)
                self.priors.append(prior)
                c //= 2
        self.top_mean = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.top_log_std = nn.Parameter(torch.zeros(1, c, 1, 1))

    def sample(self, n, temperature):
        sizes = [c * h * w // 2 for c, h, w in self.shapes[:-1]] + [math.prod(self.shapes[-1])]
        z = torch.randn(n, sum(sizes), device=self.top_mean.device) * temperature
        parts = list(z.split(sizes, 1))
        h = parts[-1].reshape(n, *self.shapes[-1]) * self.top_log_std.exp() + self.top_mean
        for i in reversed(range(len(self.levels))):
            if i < len(self.levels) - 1:
                c, hh, ww = self.shapes[i]
                mean, log_std = self.priors[i](h).chunk(2, 1)
                h = torch.cat([h, parts[i].reshape(n, c // 2, hh, ww) * log_std.exp() + mean], 1)
            for layer in reversed(self.levels[i]):
                h = layer.inverse(h)
            h = unsqueeze(h)
        return (h + 0.5).clamp(0, 1)


def synchronize():
    # CUDA runs asynchronously: without this the clock would time only the launches.
    if device.type == "cuda":
        torch.cuda.synchronize()


def parameters(model):
    return sum(p.numel() for p in model.parameters())


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_idx(path):
    data = gzip.open(path).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


if args.workload == "nice_train":
    batch = args.batch or 256
    model = Nice().to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = (torch.randint(0, 256, (batch, 1, 28, 28)).float() / 255).to(device)
    for step in range(3 + args.steps):
        if step == 3:
            synchronize()
            start = time.perf_counter()
        loss = nice_loss(model, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    synchronize()
    seconds = time.perf_counter() - start
    print(json.dumps(dict(workload="nice_train", impl="pytorch", threads=args.threads, batch=batch,
                          steps_per_second=args.steps / seconds, parameters=parameters(model), peak_rss_mb=peak_mb())))
elif args.workload == "glow_sample":
    batch = args.batch or 64
    model = Glow().to(device).eval()
    with torch.no_grad():
        model.sample(batch, 0.7)
        synchronize()
        start = time.perf_counter()
        for _ in range(args.steps):
            model.sample(batch, 0.7)
        synchronize()
    seconds = time.perf_counter() - start
    print(json.dumps(dict(workload="glow_sample", impl="pytorch", threads=args.threads, batch=batch,
                          samples_per_second=args.steps * batch / seconds, parameters=parameters(model), peak_rss_mb=peak_mb())))
else:
    train = torch.from_numpy(read_idx(f"{args.data}/train-images-idx3-ubyte.gz").copy()).float().div(255).unsqueeze(1)
    test = torch.from_numpy(read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz").copy()).float().div(255).unsqueeze(1)
    batch = args.batch or 256
    model = Nice()
    opt = torch.optim.Adam(model.parameters(), args.lr)
    per_epoch = train.shape[0] // batch
    warmup = int(0.2 * per_epoch)
    start = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        order = torch.randperm(train.shape[0])
        for b in range(per_epoch):
            for group in opt.param_groups:
                group["lr"] = args.lr * min(1.0, (step + 1) / warmup) if warmup > 0 else args.lr
            loss = nice_loss(model, train[order[b * batch:(b + 1) * batch]])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
            opt.step()
            step += 1
    with torch.no_grad():
        test_bpd = sum(nice_loss(model, test[i:i + 1000]).item() * len(test[i:i + 1000]) for i in range(0, len(test), 1000)) / len(test)
    print(json.dumps(dict(workload="nice_quality", impl="pytorch", epochs=args.epochs, steps=step, test_bits_per_dim=test_bpd,
                          seconds=time.perf_counter() - start, parameters=parameters(model))))
