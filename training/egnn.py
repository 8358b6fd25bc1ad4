"""An E(n)-equivariant graph network (Satorras, Hoogeboom, Welling 2021, arXiv 2102.09844) for FEAT's particle
systems, in the configuration of FEAT's official code (jiajunhe98/FEAT, networks/egnn.py and main_train.py:
fully connected edges, squared distances as edge attributes, attention, tanh-bounded coordinate updates,
recurrent node updates, the time as the node feature, output x_final − x with its mean removed, one network
for the velocity and one for the score). Deviations: written densely over all particle pairs (n is small; it
exports to ONNX without scatter ops); the official layer's cross-product term is 3-D only and left out, so
this network is equivariant to rotations, reflections, translations and permutations in any dimension; the
time enters through sinusoidal features instead of t itself.
"""

import math

import torch
from torch import nn


def remove_mean(x, particles, spatial):
    shaped = x.reshape(x.shape[0], particles, spatial)
    return (shaped - shaped.mean(1, keepdim=True)).reshape(x.shape[0], particles * spatial)


class EquivariantLayer(nn.Module):
    def __init__(self, hidden, coords_range):
        super().__init__()
        # The edge network's first layer on [h_i, h_j, |x_i − x_j|²], split into its three blocks so the node
        # parts are computed once per node, not once per pair (the same function, a fraction of the work).
        self.edge_source = nn.Linear(hidden, hidden)
        self.edge_target = nn.Linear(hidden, hidden, bias=False)
        self.edge_distance = nn.Linear(1, hidden, bias=False)
        self.edge = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.attention = nn.Sequential(nn.Linear(hidden, 1), nn.Sigmoid())
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        last = nn.Linear(hidden, 1, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.coordinate = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), last)
        self.coords_range = coords_range

    def forward(self, h, x, mask):
        # h [B, n, H], x [B, n, s], mask [n, n, 1] (0 on the diagonal).
        n = h.shape[1]
        difference = x[:, :, None, :] - x[:, None, :, :]
        squared = (difference ** 2).sum(-1, keepdim=True)
        first = self.edge_source(h)[:, :, None, :] + self.edge_target(h)[:, None, :, :] + self.edge_distance(squared)
        message = self.edge(first)
        message = message * self.attention(message) * mask
        shift = difference * torch.tanh(self.coordinate(message)) * self.coords_range * mask
        x = x + shift.sum(2) / (n - 1)
        h = h + self.node(torch.cat([h, message.sum(2)], -1))
        return h, x


class Egnn(nn.Module):
    def __init__(self, particles, spatial, hidden=64, layers=4, coords_range=15.0):
        super().__init__()
        self.particles, self.spatial = particles, spatial
        self.register_buffer("frequencies", math.pi * torch.arange(1, 9, dtype=torch.float32))
        self.embed = nn.Linear(16, hidden)
        self.layers = nn.ModuleList(EquivariantLayer(hidden, coords_range / layers) for _ in range(layers))
        self.register_buffer("mask", (1 - torch.eye(particles))[:, :, None])

    def forward(self, t, x):
        b = x.shape[0]
        positions = remove_mean(x, self.particles, self.spatial).reshape(b, self.particles, self.spatial)
        angles = t[:, None] * self.frequencies[None, :]
        features = self.embed(torch.cat([torch.sin(angles), torch.cos(angles)], 1))
        h = features[:, None, :].expand(-1, self.particles, -1)
        y = positions
        for layer in self.layers:
            h, y = layer(h, y, self.mask)
        return remove_mean((y - positions).reshape(b, -1), self.particles, self.spatial)


class EquivariantFields(nn.Module):
    """The served graph: (t [N], x [N, n·s]) -> (b [N, n·s], s [N, n·s]), both mean-free."""

    def __init__(self, particles, spatial, hidden=64, layers=4):
        super().__init__()
        self.velocity = Egnn(particles, spatial, hidden, layers)
        self.score = Egnn(particles, spatial, hidden, layers)

    def forward(self, t, x):
        return self.velocity(t, x), self.score(t, x)
