#!/usr/bin/python3
"""Train the evaluation-only Fashion-MNIST classifier and export it as `fmnist-classifier`.

    /usr/bin/python3 training/train_classifier.py [--epochs 4]        (npm run train:classifier)

It scores generators: its logits give the class accuracy of conditional samples, and its
penultimate features (256-d) are the space of the Fréchet distance FD-FMNIST (no Inception weights
are available offline). Trained on the training split minus a 5 000-image validation split.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import fmnist_data
from model_export import Stopwatch, configure_torch, io_spec, publish_model
from networks import Classifier

NAME = "fmnist-classifier"
COMMAND = "npm run train:classifier"
CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "classifier.pt"
LEARNING_RATE = 1e-3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


@torch.no_grad()
def accuracy(model, images, labels, batch_size=1000):
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        logits, _ = model(images[start : start + batch_size])
        correct += int((logits.argmax(dim=1) == labels[start : start + batch_size]).sum())
    return correct / len(images)


def random_flips(batch):
    """Horizontal flips of half the images: garments are left-right symmetric enough that this is free data."""
    flip = torch.rand(len(batch)) < 0.5
    return torch.where(flip[:, None, None, None], batch.flip(3), batch)


def fit(model, optimizer, schedule, augment, args, images, labels, validation):
    """Epochs of shuffled mini-batches through `augment`, cross-entropy, the schedule stepped per batch."""
    steps_per_epoch = len(images) // args.batch_size
    clock = Stopwatch()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(images))
        for step in range(steps_per_epoch):
            rows = order[step * args.batch_size : (step + 1) * args.batch_size]
            logits, _ = model(augment(images[rows]))
            loss = F.cross_entropy(logits, labels[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if step % 100 == 0:
                print(f"epoch {epoch} step {step:4d}  loss {loss.item():.4f}  {clock.seconds():.0f} s", flush=True)
        print(f"epoch {epoch}: validation accuracy {accuracy(model, *validation):.4f}", flush=True)
    return model.eval(), clock.seconds()


def train(args, images, labels, validation):
    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    # Cosine decay over the whole run: the last epoch at a small learning rate settles the weights.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs * (len(images) // args.batch_size))
    return fit(model, optimizer, schedule, random_flips, args, images, labels, validation)


def card(args, metrics):
    return f"""# fmnist-classifier (version 1)

A small Fashion-MNIST CNN used to *evaluate* generated images (class accuracy of conditional samples
and the Fréchet distance FD-FMNIST in its feature space). Not meant as a product classifier.

- **Interface**: input `image` FP32 `[N, 1, 28, 28]`, pixel intensities in [0, 1] (as
  `fmnist-ae-decoder` emits and as the dataset's uint8 / 255); outputs `logits` FP32 `[N, 10]`
  (classes in the order {", ".join(fmnist_data.CLASS_NAMES)}) and `features` FP32 `[N, 256]`
  (penultimate layer, after ReLU).
- **Architecture**: input mapped to [-1, 1]; 2 x (Conv 3x3 32, ReLU), max-pool; 2 x (Conv 3x3 64, ReLU),
  max-pool; dropout 0.3; Linear 3136 -> 256, ReLU (= features); dropout 0.3; Linear 256 -> 10.
- **Training**: `{COMMAND}` (= `/usr/bin/python3 training/train_classifier.py`), seed {args.seed};
  {metrics['training_images']} training images, random horizontal flips, Adam lr {LEARNING_RATE} with
  cosine decay, batch {args.batch_size}, {args.epochs} epochs; {metrics['training_seconds']:.0f} s on one CPU thread.
- **Measured quality**: test accuracy **{metrics['test_accuracy']:.4f}** on the 10 000 test images;
  validation accuracy {metrics['validation_accuracy']:.4f} on 5 000 held-out training images.
- **Parity**: `parity.json` holds the first 4 test images and PyTorch's outputs; a correct runtime
  matches within 1e-4.
"""


def main():
    args = parse_args()
    configure_torch(args.seed)
    (train_uint8, train_labels), (validation_uint8, validation_labels) = fmnist_data.train_validation_split(args.seed)
    test_uint8, test_labels = fmnist_data.load_split("test")
    images = torch.from_numpy(fmnist_data.to_unit_range(train_uint8))
    validation = (torch.from_numpy(fmnist_data.to_unit_range(validation_uint8)), torch.from_numpy(validation_labels))
    test_images = torch.from_numpy(fmnist_data.to_unit_range(test_uint8))

    model, seconds = train(args, images, torch.from_numpy(train_labels), validation)
    CHECKPOINT.parent.mkdir(exist_ok=True)
    torch.save(model.state_dict(), CHECKPOINT)
    metrics = {
        "test_accuracy": round(accuracy(model, test_images, torch.from_numpy(test_labels)), 4),
        "test_examples": len(test_labels),
        "validation_accuracy": round(accuracy(model, *validation), 4),
        "training_images": len(images),
        "epochs": args.epochs,
        "training_seconds": round(seconds, 1),
    }
    print(f"done: {metrics}")
    publish_model(
        NAME,
        model,
        {"image": test_images[:4].numpy().astype(np.float32)},
        [io_spec("image", "FP32", [1, 28, 28], (0.0, 1.0))],
        [io_spec("logits", "FP32", [10]), io_spec("features", "FP32", [Classifier.FEATURE_DIM])],
        "Fashion-MNIST CNN classifier (logits and 256-d penultimate features), used to evaluate generators.",
        "classification",
        metrics,
        {"command": COMMAND, "seed": args.seed, "seconds": round(seconds, 1)},
        card(args, metrics),
    )


if __name__ == "__main__":
    main()
