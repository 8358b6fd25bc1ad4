"""A small class-conditional U-Net for pixel-space MeanFlow on Fashion-MNIST 28×28.

Design: a scaled-down EDM-style U-Net (as Gsunshine/py-meanflow's meanflow/models/unet.py for CIFAR-10),
channels 32-64-128 at 28, 14 and 7
pixels, GroupNorm(8) + SiLU residual blocks, self-attention only at 7×7, (t, t − r) unscaled sinusoidal
embeddings -> MLP, plus a label embedding with 11 entries (10 classes + the null label), applied to
every residual block as FiLM (per-channel scale and shift). No dropout, so a JVP pass and a normal
pass see the same function without any RNG bookkeeping.

Everything is plain differentiable ops so that both torch.func.jvp (torch 2.x) and
torch.autograd.forward_ad (torch 1.13) can push a tangent through it; in particular attention is
an explicit matmul + softmax, because fused scaled_dot_product_attention has no forward-mode rule.

    u = PixelUNet()(z [N,1,28,28], r [N], t [N], y [N] int64)  ->  [N,1,28,28]

With r = t the output is an instantaneous velocity, which is how the flow-matching baseline uses
the same network.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from networks import NULL_LABEL, sinusoidal_embedding

GROUPS = 8


class Conditioning(nn.Module):
    """(r, t, y) -> one conditioning vector: MLP(emb(t) ‖ emb(t − r)) + label embedding."""

    def __init__(self, width, time_dim=64):
        super().__init__()
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(2 * time_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.label_embedding = nn.Embedding(NULL_LABEL + 1, width)

    def forward(self, r, t, y):
        times = torch.cat([sinusoidal_embedding(t, self.time_dim), sinusoidal_embedding(t - r, self.time_dim)], dim=1)
        return self.time_mlp(times) + self.label_embedding(y)


class ResidualBlock(nn.Module):
    """GroupNorm -> SiLU -> conv -> GroupNorm · (1 + scale) + shift -> SiLU -> conv, plus a skip path."""

    def __init__(self, in_channels, out_channels, cond_dim):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.film = nn.Linear(cond_dim, 2 * out_channels)
        self.norm2 = nn.GroupNorm(GROUPS, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x, cond):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(cond)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1.0 + scale) + shift
        h = self.conv2(F.silu(h))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H·W positions, as explicit matmul + softmax (JVP-friendly)."""

    def __init__(self, channels, heads=4):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(GROUPS, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.project = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        n, c, height, width = x.shape
        head_dim = c // self.heads
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, head_dim, height * width).unbind(dim=1)
        # q, k, v: [N, heads, head_dim, HW]; weights[i, j] = softmax_j(q_i · k_j / sqrt(d))
        weights = torch.softmax(torch.matmul(q.transpose(2, 3), k) / math.sqrt(head_dim), dim=-1)
        attended = torch.matmul(v, weights.transpose(2, 3))  # [N, heads, head_dim, HW]
        return x + self.project(attended.reshape(n, c, height, width))


class Downsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)  # 28 -> 14 -> 7

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))  # 7 -> 14 -> 28


class PixelUNet(nn.Module):
    """u(z, r, t, y) on [N, 1, 28, 28] images in [-1, 1] (see the module docstring).

    Layout (DDPM-style): stem conv; per level `blocks` residual blocks (+ attention at the lowest
    level), each output kept as a skip, then a stride-2 downsample; a middle block / attention /
    block at 7×7; the decoder mirrors it with `blocks + 1` blocks per level, each eating one skip.
    """

    def __init__(self, channels=(32, 64, 128), blocks=1, cond_dim=256, time_dim=64, heads=4):
        super().__init__()
        self.conditioning = Conditioning(cond_dim, time_dim)
        self.stem = nn.Conv2d(1, channels[0], 3, padding=1)
        lowest = len(channels) - 1

        self.down = nn.ModuleList()
        skip_channels = [channels[0]]
        current = channels[0]
        for level, width in enumerate(channels):
            for _ in range(blocks):
                self.down.append(ResidualBlock(current, width, cond_dim))
                current = width
                if level == lowest:
                    self.down.append(SelfAttention(current, heads))
                skip_channels.append(current)
            if level != lowest:
                self.down.append(Downsample(current))
                skip_channels.append(current)

        self.middle = nn.ModuleList(
            [ResidualBlock(current, current, cond_dim), SelfAttention(current, heads), ResidualBlock(current, current, cond_dim)]
        )

        self.up = nn.ModuleList()
        for level in reversed(range(len(channels))):
            width = channels[level]
            for _ in range(blocks + 1):
                self.up.append(ResidualBlock(current + skip_channels.pop(), width, cond_dim))
                current = width
                if level == lowest:
                    self.up.append(SelfAttention(current, heads))
            if level != 0:
                self.up.append(Upsample(current))

        self.output = nn.Sequential(nn.GroupNorm(GROUPS, current), nn.SiLU(), nn.Conv2d(current, 1, 3, padding=1))
        # Start from u = 0: the first targets are then just the (guided) velocities, a gentle start.
        nn.init.zeros_(self.output[-1].weight)
        nn.init.zeros_(self.output[-1].bias)

    def forward(self, z, r, t, y):
        cond = F.silu(self.conditioning(r, t, y))  # every FiLM layer reads SiLU(cond)
        h = self.stem(z)
        skips = [h]
        for layer in self.down:
            h = self._run_layer(layer, h, cond)
            if not isinstance(layer, SelfAttention):  # attention refines the block's output in place
                skips.append(h)
            else:
                skips[-1] = h
        for layer in self.middle:
            h = self._run_layer(layer, h, cond)
        for layer in self.up:
            if isinstance(layer, ResidualBlock):
                h = torch.cat([h, skips.pop()], dim=1)
            h = self._run_layer(layer, h, cond)
        return self.output(h)

    @staticmethod
    def _run_layer(layer, h, cond):
        return layer(h, cond) if isinstance(layer, ResidualBlock) else layer(h)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
