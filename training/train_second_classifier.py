#!/usr/bin/python3
"""Train the second, evaluation-only Fashion-MNIST classifier (`SecondClassifier`): the extractor
the generators never saw.

    /usr/bin/python3 training/train_second_classifier.py [--epochs 5]     (npm run train:second-classifier)

`evaluate_meanflow.py` measures every generator's Fréchet distance in this network's 192-d pooled
features as well as in `fmnist-classifier`'s, so a claim about sample quality does not rest on one
network's view of the images. It is not exported or served; the checkpoint
(training/checkpoints/second-classifier.pt) and training/results/second_classifier.json are all
it leaves. Seed 1 (the first classifier used 0), SGD with Nesterov momentum and one-cycle learning
rate, random shifts of up to 2 pixels.
"""

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

import fmnist_data
from model_export import configure_torch
from networks import SecondClassifier
from train_classifier import accuracy, fit

TRAINING_DIR = Path(__file__).resolve().parent
CHECKPOINT = TRAINING_DIR / "checkpoints" / "second-classifier.pt"
RESULTS = TRAINING_DIR / "results" / "second_classifier.json"
PEAK_LEARNING_RATE = 0.1
MAX_SHIFT = 2


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def random_shifts(batch):
    """Each image moved by up to MAX_SHIFT pixels in x and y, the border filled with background (0)."""
    padded = F.pad(batch, [MAX_SHIFT] * 4)
    offsets = torch.randint(2 * MAX_SHIFT + 1, (len(batch), 2))
    return torch.stack([padded[i, :, y : y + 28, x : x + 28] for i, (y, x) in enumerate(offsets.tolist())])


def train(args, images, labels, validation):
    model = SecondClassifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=PEAK_LEARNING_RATE, momentum=0.9, nesterov=True, weight_decay=5e-4)
    total_steps = args.epochs * (len(images) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, PEAK_LEARNING_RATE, total_steps=total_steps)
    return fit(model, optimizer, schedule, random_shifts, args, images, labels, validation)


def main():
    args = parse_args()
    configure_torch(args.seed)
    (train_uint8, train_labels), (validation_uint8, validation_labels) = fmnist_data.train_validation_split(args.seed)
    test_uint8, test_labels = fmnist_data.load_split("test")
    validation = (torch.from_numpy(fmnist_data.to_unit_range(validation_uint8)), torch.from_numpy(validation_labels))
    model, seconds = train(
        args, torch.from_numpy(fmnist_data.to_unit_range(train_uint8)), torch.from_numpy(train_labels), validation
    )
    CHECKPOINT.parent.mkdir(exist_ok=True)
    torch.save(model.state_dict(), CHECKPOINT)
    metrics = {
        "architecture": "SecondClassifier (training/networks.py)",
        "seed": args.seed,
        "epochs": args.epochs,
        "test_accuracy": round(accuracy(model, torch.from_numpy(fmnist_data.to_unit_range(test_uint8)), torch.from_numpy(test_labels)), 4),
        "validation_accuracy": round(accuracy(model, *validation), 4),
        "training_seconds": round(seconds, 1),
    }
    RESULTS.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"done: {metrics}")


if __name__ == "__main__":
    main()
