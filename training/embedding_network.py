"""The embedding CNN every metric-learning loss trains (one backbone for all), and its training augmentation.

Image in [0, 1] [N,1,28,28] -> unit vector [N, dim]. Four conv blocks (16, 32, 64, 64 channels) (BatchNorm, ReLU) with two 2×2 max-pools
(28 -> 14 -> 7), global average + max pooling (as the official code's GAP+GMP head), a linear embedding and
L2 normalisation inside the graph, so the served ONNX model emits unit vectors and cosine = dot product.
"""

import torch
import torch.nn.functional as F
from torch import nn


class EmbeddingNet(nn.Module):
    def __init__(self, dim=64):
        super().__init__()

        def block(inputs, outputs):
            return [nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU()]

        # Sized for a 2-core CPU: about 47 s per epoch of 55 000 images with two threads.
        self.trunk = nn.Sequential(
            *block(1, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64)
        )
        self.embedding = nn.Linear(64, dim)

    def forward(self, image):
        features = self.trunk(image * 2.0 - 1.0)  # centre the [0,1] input inside the graph
        pooled = features.mean(dim=(2, 3)) + features.amax(dim=(2, 3))
        return F.normalize(self.embedding(pooled), dim=1)


def augment(images, generator):
    """Random horizontal flips and integer shifts of up to 2 pixels (zero padding), per image."""
    n = len(images)
    flip = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(3), images)
    padded = F.pad(images, (2, 2, 2, 2))
    dx = torch.randint(0, 5, (n,), generator=generator)
    dy = torch.randint(0, 5, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(28)[None, :])[:, :, None].expand(n, 28, 28)
    cols = (dx[:, None] + torch.arange(28)[None, :])[:, None, :].expand(n, 28, 28)
    batch = torch.arange(n)[:, None, None].expand(n, 28, 28)
    return padded[batch, 0, rows, cols][:, None]
