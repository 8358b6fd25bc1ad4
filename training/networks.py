"""The PyTorch networks behind the Fashion-MNIST models, and the wrappers that are exported to ONNX.

Designs are ours, a latent MeanFlow sized for a 2-core CPU: a small convolutional autoencoder to a 64-d
latent, and a residual MLP velocity network in that latent.
"""

import math

import torch
from torch import nn

LATENT_DIM = 64
NULL_LABEL = 10  # the "no class" label used for classifier-free guidance; labels 0..9 are the classes


class Encoder(nn.Module):
    """[N,1,28,28] in [-1,1] -> [N,64]: two stride-2 convolutions (28->14->7), then a linear map."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, LATENT_DIM),
        )

    def forward(self, images):
        return self.layers(images)


class Decoder(nn.Module):
    """[N,64] -> [N,1,28,28] in [-1,1]: the encoder mirrored, with one more 3x3 convolution at 7x7, ending in tanh."""

    def __init__(self):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(LATENT_DIM, 64 * 7 * 7), nn.SiLU())
        self.upsample = nn.Sequential(
            nn.Conv2d(64, 64, 3, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, latent):
        # reshape rather than nn.Unflatten: torch 1.13 cannot export aten::unflatten to ONNX
        return self.upsample(self.project(latent).reshape(-1, 64, 7, 7))


class ServedDecoder(nn.Module):
    """What `fmnist-ae-decoder` computes: standardised latent -> image in [0, 1].

    The flows work on per-dimension standardised latents, so the de-standardisation and the
    tanh -> [0, 1] mapping are folded into the graph; clients never see the raw latent scale.
    """

    def __init__(self, decoder, latent_mean, latent_std):
        super().__init__()
        self.decoder = decoder
        self.register_buffer("latent_mean", latent_mean.reshape(1, LATENT_DIM).clone())
        self.register_buffer("latent_std", latent_std.reshape(1, LATENT_DIM).clone())

    def forward(self, latent):
        images = self.decoder(latent * self.latent_std + self.latent_mean)
        return (images + 1.0) * 0.5


class Classifier(nn.Module):
    """Fashion-MNIST CNN used only to evaluate generators: image in [0,1] -> (logits [N,10], features [N,256]).

    The features (penultimate layer, after ReLU) are the space in which the Fréchet distance is measured.
    """

    FEATURE_DIM = 256

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(64 * 7 * 7, self.FEATURE_DIM),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(self.FEATURE_DIM, 10))

    def forward(self, image):
        features = self.trunk(image * 2.0 - 1.0)  # centre the [0,1] input inside the graph
        return self.head(features), features


class SecondClassifier(nn.Module):
    """A second evaluation classifier, image in [0,1] -> (logits [N,10], features [N,192]), never served.

    FD measured in one network's features can reward whatever that network happens to look at; a
    generator can look good to it and not to another. This one differs from `Classifier` in every
    choice that shapes its features: a 5x5 stem, batch norm, GELU, global average pooling instead
    of a dense layer over positions (so its 192-d features carry no pixel positions), another seed
    and another augmentation (shifts). The generators are never trained or selected against it.
    """

    FEATURE_DIM = 192

    def __init__(self):
        super().__init__()

        def stage(inputs, outputs, kernel):
            return [nn.Conv2d(inputs, outputs, kernel, padding=kernel // 2), nn.BatchNorm2d(outputs), nn.GELU()]

        self.trunk = nn.Sequential(
            *stage(1, 48, 5),
            nn.MaxPool2d(2),
            *stage(48, 96, 3),
            nn.MaxPool2d(2),
            *stage(96, self.FEATURE_DIM, 3),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.FEATURE_DIM, 10))

    def forward(self, image):
        features = self.trunk(image * 2.0 - 1.0)
        return self.head(features), features


def sinusoidal_embedding(values, dim):
    """[N] -> [N, dim] cos/sin features with frequencies 1 … 1e-4, applied to the raw value.

    No x1000 time scaling (as in both official MeanFlow codes): it would make du/dt large and the
    JVP target noisy (reference §1.2).
    """
    half = dim // 2
    # On the input's device: a CPU constant broke --device cuda training on torch 2.x.
    steps = torch.arange(half, dtype=torch.float32, device=values.device)
    frequencies = torch.exp(-math.log(10000.0) * steps / half)
    angles = values[:, None] * frequencies[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.layers = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, x):
        return x + self.layers(x)


class VelocityNet(nn.Module):
    """Average velocity u(z, r, t, y) in latent space, conditioned on (t, t - r) and the class.

    Input [z ‖ emb(t) ‖ emb(t - r) ‖ label embedding (10 classes + null)] -> linear -> residual
    blocks -> LayerNorm -> linear to the latent dimension. With r = t it is an instantaneous velocity, which is how the
    flow-matching baseline uses the same network.
    """

    def __init__(self, width=384, blocks=3, time_dim=64, label_dim=64):
        super().__init__()
        self.time_dim = time_dim
        self.label_embedding = nn.Embedding(NULL_LABEL + 1, label_dim)
        self.input = nn.Linear(LATENT_DIM + 2 * time_dim + label_dim, width)
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.output = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, LATENT_DIM))

    def forward(self, z, r, t, y):
        features = torch.cat(
            [
                z,
                sinusoidal_embedding(t, self.time_dim),
                sinusoidal_embedding(t - r, self.time_dim),
                self.label_embedding(y),
            ],
            dim=1,
        )
        return self.output(self.blocks(self.input(features)))
