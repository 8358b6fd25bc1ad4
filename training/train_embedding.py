#!/usr/bin/python3
"""Train one Fashion-MNIST embedding network with one metric-learning loss under one protocol.

    /usr/bin/python3 training/train_embedding.py --loss mf-contrastive --protocol usual --seed 0 [--export NAME]

Protocols (reference retrieval.md §2.4):
- usual: train on the training split minus a 5 000-image validation split (all ten classes); test = the 10 000
  test images retrieving among themselves (R = 999).
- disjoint: train on training images of classes 0–4 only; test = test images of the unseen classes 5–9 among
  themselves. No image of 5–9 is used for training, tuning or epoch selection.
Model selection (the epoch, and in retrieval_sweep.py the hyper-parameters) uses MAP@R on the validation split
(held-out training images of the training classes), never the test split. The result JSON has every epoch's
validation and test metrics and the test metrics of the epoch chosen on validation.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import fmnist_data
from dml_losses import LOSSES, build_loss
from dml_metrics import retrieval_metrics
from embedding_network import EmbeddingNet, augment

TRAINING_CLASSES = {"usual": list(range(10)), "disjoint": [0, 1, 2, 3, 4]}
TEST_CLASSES = {"usual": list(range(10)), "disjoint": [5, 6, 7, 8, 9]}
SPLIT_SEED = 0  # one validation split for every run, so runs differ only in their training seed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loss", choices=sorted(LOSSES), required=True)
    parser.add_argument("--protocol", choices=sorted(TRAINING_CLASSES), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=120)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--class-lr-ratio", type=float, default=None,
                        help="learning-rate multiplier of mean fields / proxies (default: 200 for mean fields, "
                             "100 for proxies)")
    parser.add_argument("--augment", action="store_true", help="random flips and ±2-pixel shifts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the result JSON here")
    parser.add_argument("--save", type=Path, help="save the chosen epoch's network state here")
    return parser.parse_args(argv)


def select_classes(images, labels, classes):
    keep = np.isin(labels, classes)
    return images[keep], labels[keep]


def protocol_data(protocol):
    """(train, validation, test) as (float images in [0,1] [N,1,28,28], int64 labels) tensors."""
    (train_images, train_labels), (val_images, val_labels) = fmnist_data.train_validation_split(SPLIT_SEED)
    test_images, test_labels = fmnist_data.load_split("test")
    parts = [
        select_classes(train_images, train_labels, TRAINING_CLASSES[protocol]),
        select_classes(val_images, val_labels, TRAINING_CLASSES[protocol]),
        select_classes(test_images, test_labels, TEST_CLASSES[protocol]),
    ]
    return [(torch.from_numpy(fmnist_data.to_unit_range(x)), torch.from_numpy(y)) for x, y in parts]


@torch.no_grad()
def embed(model, images, batch_size=1000):
    model.eval()
    return torch.cat([model(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def default_class_lr_ratio(loss):
    return 200.0 if loss.startswith("mf-") else 100.0


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    (images, labels), validation, test = protocol_data(args.protocol)
    num_classes = 10  # labels keep their dataset ids; absent classes' parameters simply get no positives
    model = EmbeddingNet(args.dim)
    loss_fn = build_loss(args.loss, num_classes, args.dim)
    class_lr_ratio = args.class_lr_ratio if args.class_lr_ratio is not None else default_class_lr_ratio(args.loss)
    groups = [{"params": model.parameters(), "lr": args.lr}]
    if list(loss_fn.parameters()):
        groups.append({"params": loss_fn.parameters(), "lr": args.lr * class_lr_ratio})
    optimizer = torch.optim.AdamW(groups, weight_decay=1e-4)
    steps_per_epoch = len(images) // args.batch_size
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()
    epochs, best = [], None
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        for step in range(steps_per_epoch):
            rows = order[step * args.batch_size : (step + 1) * args.batch_size]
            batch = augment(images[rows], generator) if args.augment else images[rows]
            loss = loss_fn(model(batch), labels[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), 10.0)
            optimizer.step()
            schedule.step()
        record = {
            "epoch": epoch,
            "loss": round(float(loss), 4),
            "seconds": round(time.perf_counter() - started, 1),
            "validation": retrieval_metrics(embed(model, validation[0]), validation[1].numpy()),
            "test": retrieval_metrics(embed(model, test[0]), test[1].numpy()),
        }
        epochs.append(record)
        print(json.dumps(record), flush=True)
        if best is None or record["validation"]["map_at_r"] > best[0]["validation"]["map_at_r"]:
            best = (record, {k: v.clone() for k, v in model.state_dict().items()})
    chosen, state = best
    result = {
        "loss": args.loss,
        "protocol": args.protocol,
        "seed": args.seed,
        "dim": args.dim,
        "augment": args.augment,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "class_lr_ratio": class_lr_ratio,
        "training_images": len(images),
        "training_seconds": epochs[-1]["seconds"],
        "chosen_epoch": chosen["epoch"],
        "validation": chosen["validation"],
        "test": chosen["test"],
        "history": epochs,
    }
    model.load_state_dict(state)
    return model.eval(), result


def main(argv=None):
    args = parse_args(argv)
    model, result = train(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": model.state_dict(), "result": result}, args.save)
    print(f"chosen epoch {result['chosen_epoch']}: test {result['test']}")
    return model, result


if __name__ == "__main__":
    main()
