"""The workloads of bench/diffusion.cpp in PyTorch (eager): zoo's diffusion U-Net and MLP denoiser
rebuilt layer by layer (same parameter count), EDM preconditioning, Heun sampling and the EDM
loss. Prints the rate, the parameter count and peak RSS as JSON."""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--workload", default="unet_sample", choices=["unet_sample", "mlp_train"])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--device", default="cpu")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--batch", type=int, default=0, help="0 = the workload's: 16 images to sample, 512 vectors to train on")
parser.add_argument("--steps", type=int, default=0, help="unet_sample: Heun steps; mlp_train: timed steps (0 = 18 or 300)")
parser.add_argument("--repeats", type=int, default=1, help="unet_sample: timed sampling passes after one untimed")
parser.add_argument("--warmup", type=int, default=30, help="mlp_train: untimed steps first")
args = parser.parse_args()
sample = args.workload == "unet_sample"
batch = args.batch or (16 if sample else 512)
steps = args.steps or (18 if sample else 300)
if batch < 1 or steps < 1 or args.repeats < 1 or args.warmup < 0:
    parser.error("--batch, --steps and --repeats must be positive and --warmup non-negative")
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
device = torch.device(args.device)

SIGMA_DATA = 0.5
SKIP_SCALE = 1 / math.sqrt(2)


class NoiseEmbedding(nn.Module):
    """Positional: [B] -> [B, channels], cos and sin of c_noise * (1/10000)^(k/half)."""

    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.register_buffer("frequencies", torch.pow(1e-4, torch.arange(half, dtype=torch.float32) / half))

    def forward(self, c_noise):
        angles = torch.outer(c_noise.to(self.frequencies.dtype), self.frequencies)
        return torch.cat([angles.cos(), angles.sin()], 1)


def group_norm(channels):
    # min(32, channels/4) groups, fewer until they divide the channels.
    groups = max(1, min(32, channels // 4))
    while channels % groups:
        groups -= 1
    return nn.GroupNorm(groups, channels, eps=1e-6)


def conv(cin, cout, kernel, stride=1):
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, embedding, dropout):
        super().__init__()
        self.norm0 = group_norm(cin)
        self.conv0 = conv(cin, cout, 3)
        self.affine = nn.Linear(embedding, 2 * cout)
        self.norm1 = group_norm(cout)
        self.dropout = nn.Dropout(dropout)
        self.conv1 = conv(cout, cout, 3)
        self.skip = conv(cin, cout, 1) if cin != cout else None

    def forward(self, x, embedding):
        h = self.conv0(F.silu(self.norm0(x)))
        scale, shift = self.affine(embedding)[:, :, None, None].chunk(2, 1)
        h = F.silu(torch.addcmul(shift, self.norm1(h), scale + 1))
        h = self.conv1(self.dropout(h))
        return (h + (x if self.skip is None else self.skip(x))) * SKIP_SCALE


class AttentionBlock(nn.Module):
    def __init__(self, channels, heads):
        super().__init__()
        assert channels % heads == 0
        self.heads = heads
        self.norm = group_norm(channels)
        self.qkv = conv(channels, 3 * channels, 1)
        self.proj = conv(channels, channels, 1)

    def forward(self, x):
        b, c, height, width = x.shape
        d = c // self.heads
        # [B, 3, heads, d, pixels] -> q, k, v as [B*heads, pixels, d]
        q, k, v = (t.reshape(b * self.heads, d, height * width).transpose(1, 2)
                   for t in self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, height * width).unbind(1))
        weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(d), -1)
        out = torch.bmm(weights, v).transpose(1, 2).reshape(b, c, height, width)
        return (x + self.proj(out)) * SKIP_SCALE


class UNetLayer(nn.Module):
    """A residual block (+ attention when heads > 0, + the encoder activation concatenated
    when it takes a skip), or a stride-2 conv (down), or nearest upsampling to the skip's
    size and a conv (up)."""

    def __init__(self, kind, cin, cout, embedding, dropout, heads, takes_skip):
        super().__init__()
        self.kind, self.takes_skip = kind, takes_skip
        if kind == "block":
            self.residual = ResidualBlock(cin, cout, embedding, dropout)
            self.attention = AttentionBlock(cout, heads) if heads > 0 else None
        else:
            self.conv = conv(cin, cout, 3, 2 if kind == "down" else 1)

    def forward(self, h, embedding, skips):
        if self.kind == "down":
            return self.conv(h)
        if self.kind == "up":
            return self.conv(F.interpolate(h, size=skips[-1].shape[2:], mode="nearest"))
        if self.takes_skip:
            h = torch.cat([h, skips.pop()], 1)
        h = self.residual(h, embedding)
        return h if self.attention is None else self.attention(h)


class UNet(nn.Module):
    def __init__(self, in_channels=1, resolution=28, channels=32, channel_mult=(1, 2, 2), blocks=2,
                 attention_resolutions=(7,), attention_head_channels=64, dropout=0.0):
        super().__init__()
        emb = 4 * channels
        self.noise_embedding = NoiseEmbedding(channels)
        self.embedding_mlp = nn.Sequential(nn.Linear(channels, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.conv_in = conv(in_channels, channels, 3)

        def heads_at(res, ch):
            return max(1, ch // attention_head_channels) if res in attention_resolutions else 0

        self.encoder, self.middle, self.decoder = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        skip_channels, level_resolution = [channels], []
        ch, res = channels, resolution
        for level, mult in enumerate(channel_mult):
            level_resolution.append(res)
            out = channels * mult
            for _ in range(blocks):
                self.encoder.append(UNetLayer("block", ch, out, emb, dropout, heads_at(res, out), False))
                ch = out
                skip_channels.append(ch)
            if level + 1 < len(channel_mult):
                self.encoder.append(UNetLayer("down", ch, ch, emb, 0, 0, False))
                res = (res + 1) // 2
                skip_channels.append(ch)
        self.middle.append(UNetLayer("block", ch, ch, emb, dropout, max(1, ch // attention_head_channels), False))
        self.middle.append(UNetLayer("block", ch, ch, emb, dropout, 0, False))
        for level in reversed(range(len(channel_mult))):
            out = channels * channel_mult[level]
            for _ in range(blocks + 1):
                self.decoder.append(UNetLayer("block", ch + skip_channels.pop(), out, emb, dropout,
                                              heads_at(level_resolution[level], out), True))
                ch = out
            if level > 0:
                self.decoder.append(UNetLayer("up", ch, ch, emb, 0, 0, False))
        self.norm_out = group_norm(ch)
        self.conv_out = conv(ch, in_channels, 3)
        with torch.no_grad():  # F = 0 at initialisation (EDM's init_zero)
            self.conv_out.weight.zero_()
            self.conv_out.bias.zero_()

    def forward(self, x, c_noise):
        emb = F.silu(self.embedding_mlp(self.noise_embedding(c_noise)))
        h = self.conv_in(x)
        skips = [h]
        for layer in self.encoder:
            h = layer(h, emb, skips)
            skips.append(h)
        for layer in self.middle:
            h = layer(h, emb, skips)
        for layer in self.decoder:
            h = layer(h, emb, skips)
        return self.conv_out(F.silu(self.norm_out(h)))


class MlpNet(nn.Module):
    """Residual MLP blocks (LayerNorm, Linear, SiLU, Linear), the noise embedding projected and
    added to each block's input."""

    def __init__(self, features=2, hidden=256, blocks=3, embedding=64):
        super().__init__()
        self.noise_embedding = NoiseEmbedding(embedding)
        self.embedding_mlp = nn.Sequential(nn.Linear(embedding, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.input = nn.Linear(features, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
            for _ in range(blocks))
        self.block_embeds = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(blocks))
        self.output = nn.Linear(hidden, features)

    def forward(self, x, c_noise):
        emb = F.silu(self.embedding_mlp(self.noise_embedding(c_noise)))
        h = self.input(x)
        for block, embed in zip(self.blocks, self.block_embeds):
            h = h + block(h + embed(emb))
        return self.output(F.silu(h))


def per_example(v, like):
    return v.view((like.shape[0],) + (1,) * (like.dim() - 1)).to(like.dtype)


def denoise(net, x, sigma):
    """EDM preconditioning: D = c_skip*x + c_out*F(c_in*x; c_noise), coefficients in float64."""
    s = sigma.double()
    total = s.square() + SIGMA_DATA ** 2
    c_skip, c_out, c_in, c_noise = SIGMA_DATA ** 2 / total, s * SIGMA_DATA / total.sqrt(), total.rsqrt(), 0.25 * s.log()
    f = net(x * per_example(c_in, x), c_noise.to(x.dtype))
    return per_example(c_skip, x) * x + per_example(c_out, x) * f.to(x.dtype)


def karras_sigmas(n, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    ramp = torch.linspace(0, 1, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    return (hi + ramp * (lo - hi)).pow(rho).tolist() + [0.0]


def sample_heun(denoiser, x, sigmas):
    """EDM Algorithm 1, deterministic: Heun steps, Euler on the last (to σ = 0)."""
    for sigma, nxt in zip(sigmas[:-1], sigmas[1:]):
        denoised = denoiser(x, torch.full((x.shape[0],), sigma, dtype=torch.float64, device=x.device))
        d = (x - denoised) / sigma
        euler = x + d * (nxt - sigma)
        if nxt == 0:
            x = euler
            continue
        d_next = (euler - denoiser(euler, torch.full((x.shape[0],), nxt, dtype=torch.float64, device=x.device))) / nxt
        x = x + 0.5 * (d + d_next) * (nxt - sigma)
    return x


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize()


result = {"workload": args.workload, "impl": "pytorch", "threads": args.threads, "device": args.device,
          "batch": batch, "steps": steps}
if sample:
    net = UNet()
    net.conv_out.reset_parameters()  # random weights for timing, as the zoo bench does
    net = net.to(device).eval()
    calls = 0

    def denoiser(x, sigma):  # x float64, the network in float32
        global calls
        calls += 1
        return denoise(net, x.float(), sigma).to(x.dtype)

    sigmas = karras_sigmas(steps)

    def run():
        with torch.inference_mode():
            z = torch.randn(batch, 1, 28, 28, dtype=torch.float64, device=device)
            return sample_heun(denoiser, z * sigmas[0], sigmas)

    run()
    synchronize()
    calls = 0
    start = time.perf_counter()
    for _ in range(args.repeats):
        run()
    synchronize()
    seconds = time.perf_counter() - start
    result.update(nfe=calls // args.repeats, samples_per_second=batch * args.repeats / seconds)
else:
    net = MlpNet().to(device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0)  # as train_diffusion

    def step():
        y = SIGMA_DATA * torch.randn(batch, 2, device=device)
        sigma = (torch.randn(batch, device=device) * 1.2 - 1.2).exp()  # ln σ ~ N(−1.2, 1.2²)
        weight = (sigma.square() + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA).square()
        denoised = denoise(net, y + per_example(sigma, y) * torch.randn_like(y), sigma)
        loss = (per_example(weight.sqrt(), y) * (denoised - y)).square().flatten(1).mean(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize()
    seconds = time.perf_counter() - start
    result.update(steps_per_second=steps / seconds)
result.update(parameters=sum(p.numel() for p in net.parameters()),
              peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(result))
