#!/usr/bin/python3
"""Train the Fashion-MNIST autoencoder and export its decoder as `fmnist-ae-decoder`.

    /usr/bin/python3 training/train_autoencoder.py [--iterations 5000] [--resume]

Design (ours, sized for a 2-core CPU): conv 28->14->7 (32, 64 channels) -> linear
to a 64-d latent, mirrored decoder (plus one 3x3 convolution at 7x7) ending in tanh, trained on [-1, 1] images with Gaussian noise
(std 0.05) on the latent and a small L2 penalty on it, so that nearby latents decode to similar
images and the latent scale stays bounded: both make the latent easier for a flow to model.

Also writes training/checkpoints/fmnist-latents.pt: the standardised latents of all 60 000 training
images (the flows' data) with the per-dimension mean and std used to standardise them.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import fmnist_data
from model_export import Stopwatch, configure_torch, io_spec, publish_model
from networks import LATENT_DIM, Decoder, Encoder, ServedDecoder

NAME = "fmnist-ae-decoder"
VERSION = "2"  # 1 had a 32-d latent (docs/meanflow.md compares the two)
COMMAND = "npm run train:autoencoder"
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
CHECKPOINT = CHECKPOINT_DIR / "autoencoder.pt"
LATENTS = CHECKPOINT_DIR / "fmnist-latents.pt"
LATENT_NOISE = 0.05
LATENT_L2 = 1e-4
LEARNING_RATE = 1e-3
CHECKPOINT_EVERY = 500


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=5000, help="total iterations (a resumed run continues to it)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from training/checkpoints/autoencoder.pt")
    return parser.parse_args()


def reconstruction_loss(encoder, decoder, images):
    latent = encoder(images)
    noisy = latent + LATENT_NOISE * torch.randn_like(latent)
    return F.mse_loss(decoder(noisy), images) + LATENT_L2 * latent.pow(2).mean()


@torch.no_grad()
def encode_all(encoder, images, batch_size=1000):
    encoder.eval()
    return torch.cat([encoder(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


@torch.no_grad()
def validation_mse(encoder, decoder, images):
    """Mean squared error of noiseless reconstructions, in [0, 1] pixel units."""
    decoder.eval()
    reconstructions = torch.cat([decoder(z) for z in encode_all(encoder, images).split(1000)])
    return float(F.mse_loss((reconstructions + 1) / 2, (images + 1) / 2))


def save_checkpoint(encoder, decoder, optimizer, step, seconds):
    CHECKPOINT_DIR.mkdir(exist_ok=True)
    torch.save(
        {
            "encoder": encoder.state_dict(),
            "decoder": decoder.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "seconds": seconds,
            "rng": torch.get_rng_state(),
        },
        CHECKPOINT,
    )


def train(args, train_images):
    encoder, decoder = Encoder(), Decoder()
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=LEARNING_RATE)
    step, seconds = 0, 0.0
    if args.resume and CHECKPOINT.exists():
        state = torch.load(CHECKPOINT)
        encoder.load_state_dict(state["encoder"])
        decoder.load_state_dict(state["decoder"])
        optimizer.load_state_dict(state["optimizer"])
        step, seconds = state["step"], state["seconds"]
        torch.set_rng_state(state["rng"])
        print(f"resumed at iteration {step}")
    clock = Stopwatch(seconds)
    encoder.train()
    decoder.train()
    while step < args.iterations:
        batch = train_images[torch.randint(len(train_images), (args.batch_size,))]
        loss = reconstruction_loss(encoder, decoder, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % 100 == 0:
            print(f"iteration {step:5d}  loss {loss.item():.5f}  {clock.seconds():.0f} s", flush=True)
        if step % CHECKPOINT_EVERY == 0 or step == args.iterations:
            save_checkpoint(encoder, decoder, optimizer, step, clock.seconds())
    return encoder, decoder, clock.seconds()


def card(metrics, args):
    return f"""# fmnist-ae-decoder (version {VERSION})

The decoder half of a small Fashion-MNIST autoencoder. It turns a 64-d latent into a 28x28 image;
the `meanflow-fmnist` and `flowmatching-fmnist` generators produce latents for it.

- **Interface**: input `latent` FP32 `[N, 64]`, the *standardised* latent (per-dimension mean 0,
  std 1 over the training images, as the flows produce it); output `image` FP32 `[N, 1, 28, 28]`,
  pixel intensities in [0, 1] (0 = black background). De-standardisation and the tanh -> [0, 1]
  mapping are inside the graph.
- **Architecture**: Linear 64 -> 64x7x7, SiLU, Conv 3x3 64->64, SiLU, ConvTranspose 64->32 (7->14), SiLU,
  ConvTranspose 32->1 (14->28), tanh. The encoder (not served): Conv 4x4/2 1->32, SiLU, Conv 4x4/2
  32->64, SiLU, Linear 3136 -> 64.
- **Data**: Fashion-MNIST training split minus a seeded 5 000-image validation split
  ({metrics['training_images']} images), scaled to [-1, 1].
- **Training**: `{COMMAND}` (= `/usr/bin/python3 training/train_autoencoder.py`), seed {args.seed},
  Adam lr {LEARNING_RATE}, batch {args.batch_size}, {metrics['iterations']} iterations, MSE with
  N(0, {LATENT_NOISE}²) noise on the latent and {LATENT_L2} x mean latent² penalty;
  {metrics['training_seconds']:.0f} s on one CPU thread.
- **Measured quality**: validation reconstruction MSE {metrics['validation_mse']:.5f} (pixels in [0, 1]).
  See `docs/meanflow.md` for the class accuracy and Fréchet distance of its reconstructions.
- **Parity**: `parity.json` holds 4 standardised latents of validation images and PyTorch's
  output; a correct runtime matches within 1e-4.
- **Limits**: reconstructions are blurrier than the originals (a 64-d bottleneck); latents far
  outside the training distribution decode to arbitrary shapes.
"""


def main():
    args = parse_args()
    configure_torch(args.seed)
    (train_uint8, _), (validation_uint8, _) = fmnist_data.train_validation_split(args.seed)
    train_images = torch.from_numpy(fmnist_data.to_signed_range(train_uint8))
    validation_images = torch.from_numpy(fmnist_data.to_signed_range(validation_uint8))

    encoder, decoder, seconds = train(args, train_images)

    all_uint8, all_labels = fmnist_data.load_split("train")
    latents = encode_all(encoder, torch.from_numpy(fmnist_data.to_signed_range(all_uint8)))
    mean, std = latents.mean(dim=0), latents.std(dim=0)
    torch.save(
        {"latents": (latents - mean) / std, "labels": torch.from_numpy(all_labels), "mean": mean, "std": std},
        LATENTS,
    )
    print(f"wrote {LATENTS}")

    served = ServedDecoder(decoder, mean, std).eval()
    parity_latents = ((encode_all(encoder, validation_images[:4]) - mean) / std).numpy()
    metrics = {
        "validation_mse": round(validation_mse(encoder, decoder, validation_images), 6),
        "validation_images": len(validation_images),
        "training_images": len(train_images),
        "iterations": args.iterations,
        "training_seconds": round(seconds, 1),
    }
    publish_model(
        NAME,
        served,
        {"latent": parity_latents.astype(np.float32)},
        [io_spec("latent", "FP32", [LATENT_DIM])],
        [io_spec("image", "FP32", [1, 28, 28])],
        "Fashion-MNIST autoencoder decoder: standardised 64-d latent -> 28x28 image in [0, 1].",
        "decoder",
        metrics,
        {"command": COMMAND, "seed": args.seed, "seconds": round(seconds, 1)},
        card(metrics, args),
        version=VERSION,
    )


if __name__ == "__main__":
    main()
