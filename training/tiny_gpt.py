"""A small pre-LN GPT with learned positions and an explicit key/value cache, exportable to ONNX.

forward(ids [B, T], past [L, 2, B, H, P, Dh]) → (logits [B, T, V], present [L, 2, B, H, P+T, Dh]).
The whole cache is one tensor so the server feeds one input and reads one output per step; P = 0 is an
empty cache (the prompt step). Positions of the new tokens are P..P+T-1. Only standard ops (no SDPA),
so torch 1.13 exports it at opset 17.
"""

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class GPTConfig:
    vocab_size: int
    context: int
    layers: int
    width: int
    heads: int
    activation: str = "gelu"

    @property
    def head_dim(self):
        return self.width // self.heads

    def as_dict(self):
        return asdict(self)


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.heads
        self.head_dim = config.head_dim
        self.norm1 = nn.LayerNorm(config.width)
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.proj = nn.Linear(config.width, config.width)
        self.norm2 = nn.LayerNorm(config.width)
        self.mlp = nn.Sequential(
            nn.Linear(config.width, 4 * config.width),
            nn.GELU() if config.activation == "gelu" else nn.ReLU(),
            nn.Linear(4 * config.width, config.width),
        )

    def forward(self, x, past, mask):
        batch, steps, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(width, dim=2)
        q, k, v = (t.view(batch, steps, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        k = torch.cat([past[0], k], dim=2)
        v = torch.cat([past[1], v], dim=2)
        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
        attention = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        y = (attention @ v).transpose(1, 2).reshape(batch, steps, width)
        x = x + self.proj(y)
        x = x + self.mlp(self.norm2(x))
        return x, torch.stack([k, v])


class TinyGPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.tokens = nn.Embedding(config.vocab_size, config.width)
        self.positions = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab_size, bias=False)

    def empty_cache(self, batch):
        c = self.config
        return torch.zeros(c.layers, 2, batch, c.heads, 0, c.head_dim)

    def forward(self, ids, past):
        steps = ids.shape[1]
        cached = past.shape[4]
        new_positions = torch.arange(steps) + cached
        x = self.tokens(ids) + self.positions(new_positions)[None]
        # Query i (absolute position cached + i) sees keys 0..cached + i.
        keys = torch.arange(cached + steps)
        mask = keys[None, :] > new_positions[:, None]
        presents = []
        for layer, block in enumerate(self.blocks):
            x, present = block(x, past[layer], mask)
            presents.append(present)
        return self.head(self.norm(x)), torch.stack(presents)

    def logits(self, ids):
        """Full-sequence logits without a cache (training)."""
        return self.forward(ids, self.empty_cache(ids.shape[0]))[0]


@torch.no_grad()
def greedy_complete(model, prompts_ids, max_new, eos, temperature=0.0, generator=None):
    """Batched incremental decoding of prompts of equal length; returns the new ids per row (up to <eos>)."""
    model.eval()
    ids = torch.tensor(prompts_ids)
    logits, past = model(ids, model.empty_cache(ids.shape[0]))
    done = torch.zeros(ids.shape[0], dtype=torch.bool)
    outputs = []
    for _ in range(max_new):
        last = logits[:, -1]
        if temperature > 0:
            probabilities = torch.softmax(last / temperature, dim=-1)
            token = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        else:
            token = last.argmax(dim=-1)
        token = torch.where(done, torch.full_like(token, eos), token)
        outputs.append(token)
        done |= token == eos
        if bool(done.all()) or past.shape[4] + 1 >= model.config.context:
            break
        logits, past = model(token[:, None], past)
    rows = torch.stack(outputs, dim=1).tolist()
    return [row[: row.index(eos)] if eos in row else row for row in rows]
