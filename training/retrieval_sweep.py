#!/usr/bin/python3
"""Every retrieval experiment of docs/retrieval.md, one run at a time, resumable (finished runs are skipped).

    /usr/bin/python3 training/retrieval_sweep.py            (npm run train:retrieval-sweep)

1. Floors: raw pixels and PCA-64 (fitted on the protocol's training images), on validation and test.
2. For each protocol and loss: both settings of the loss's one tuned knob with seed 0; the one with the better
   validation MAP@R is run again with seeds 1 and 2. Knob: the learning-rate multiplier of the class
   parameters (mean fields, proxies) for losses that have them, the base learning rate for the pair losses.
3. Transfer variants on the class-disjoint protocol for the two mean-field losses: augmentation, 128-d,
   6 epochs (early stopping on the training classes' validation split then has epochs to choose from).
4. Loss computation time against batch size (results/retrieval/loss_timing.json).
Results: training/results/retrieval/<protocol>/<run>.json; usual-protocol networks in
training/checkpoints/embedding/<run>.pt (for export_embedding.py).
"""

import json
import sys
import time
from pathlib import Path

import torch

import fmnist_data
import train_embedding
from dml_losses import LOSSES, build_loss
from dml_metrics import pca_embeddings, raw_pixel_embeddings, retrieval_metrics

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "retrieval"
CHECKPOINTS = HERE / "checkpoints" / "embedding"
PROTOCOLS = ("usual", "disjoint")
SEEDS = (0, 1, 2)
LOSS_ORDER = ("mf-contrastive", "mf-cwms", "contrastive", "multisimilarity", "proxyanchor", "proxynca")
# name -> two candidate settings, each a list of extra command-line arguments
KNOBS = {
    "mf-contrastive": (["--class-lr-ratio", "20"], ["--class-lr-ratio", "200"]),
    "mf-cwms": (["--class-lr-ratio", "20"], ["--class-lr-ratio", "200"]),
    "proxyanchor": (["--class-lr-ratio", "10"], ["--class-lr-ratio", "100"]),
    "proxynca": (["--class-lr-ratio", "10"], ["--class-lr-ratio", "100"]),
    "contrastive": (["--lr", "0.001"], ["--lr", "0.003"]),
    "multisimilarity": (["--lr", "0.001"], ["--lr", "0.003"]),
}
TRANSFER_VARIANTS = {"augment": ["--augment"], "dim128": ["--dim", "128"], "epochs6": ["--epochs", "6"]}


def setting_name(extra):
    return "".join(part.lstrip("-").replace("class-lr-ratio", "ratio") for part in extra)


def run(protocol, name, arguments):
    out = RESULTS / protocol / f"{name}.json"
    if out.exists():
        return json.loads(out.read_text())
    print(f"== {protocol}/{name}", flush=True)
    argv = [*arguments, "--protocol", protocol, "--out", str(out)]
    if protocol == "usual":
        argv += ["--save", str(CHECKPOINTS / f"{name}.pt")]
    train_embedding.main(argv)
    return json.loads(out.read_text())


def floors():
    out = RESULTS / "floors.json"
    if out.exists():
        return
    result = {}
    for protocol in PROTOCOLS:
        (train_x, train_y), (val_x, val_y) = fmnist_data.train_validation_split(train_embedding.SPLIT_SEED)
        test_x, test_y = fmnist_data.load_split("test")
        fit_x, _ = train_embedding.select_classes(train_x, train_y, train_embedding.TRAINING_CLASSES[protocol])
        parts = {
            "validation": train_embedding.select_classes(val_x, val_y, train_embedding.TRAINING_CLASSES[protocol]),
            "test": train_embedding.select_classes(test_x, test_y, train_embedding.TEST_CLASSES[protocol]),
        }
        torch.manual_seed(0)
        for part, (x, y) in parts.items():
            result[f"{protocol}/{part}/raw-pixels"] = retrieval_metrics(raw_pixel_embeddings(x), y)
            result[f"{protocol}/{part}/pca-64"] = retrieval_metrics(pca_embeddings(fit_x, x, 64), y)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1), flush=True)


def main_runs(protocol):
    for loss in LOSS_ORDER:
        candidates = []
        for extra in KNOBS[loss]:
            name = f"{loss}-{setting_name(extra)}-seed0"
            candidates.append((run(protocol, name, ["--loss", loss, *extra, "--seed", "0"]), extra))
        best, extra = max(candidates, key=lambda pair: pair[0]["validation"]["map_at_r"])
        for seed in SEEDS[1:]:
            run(protocol, f"{loss}-{setting_name(extra)}-seed{seed}", ["--loss", loss, *extra, "--seed", str(seed)])


def chosen_setting(protocol, loss):
    """The knob setting main_runs picked (the one that has seed-1 runs)."""
    for extra in KNOBS[loss]:
        if (RESULTS / protocol / f"{loss}-{setting_name(extra)}-seed1.json").exists():
            return extra
    raise FileNotFoundError(f"no seed-1 run of {loss} under {protocol}")


def transfer_runs():
    for loss in ("mf-contrastive", "mf-cwms"):
        extra = chosen_setting("disjoint", loss)
        for variant, arguments in TRANSFER_VARIANTS.items():
            run("disjoint", f"{loss}-{setting_name(extra)}-{variant}-seed0",
                ["--loss", loss, *extra, *arguments, "--seed", "0"])


def loss_timing(batch_sizes=(64, 128, 256, 512, 1024, 2048, 4096), dim=64, num_classes=10, repeats=5):
    """Forward + backward time of each loss alone on random unit embeddings, median of `repeats`, one thread."""
    out = RESULTS / "loss_timing.json"
    if out.exists():
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    timings = {}
    for loss in LOSS_ORDER:
        loss_fn = build_loss(loss, num_classes, dim)
        timings[loss] = {}
        for batch in batch_sizes:
            embeddings = torch.nn.functional.normalize(torch.randn(batch, dim), dim=1).requires_grad_(True)
            labels = torch.randint(0, num_classes, (batch,))
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                loss_fn(embeddings, labels).backward()
                samples.append(time.perf_counter() - started)
            timings[loss][batch] = round(sorted(samples)[repeats // 2] * 1000, 3)
    out.write_text(json.dumps({"unit": "ms", "dim": dim, "classes": num_classes, "timings": timings}, indent=1) + "\n")
    print(json.dumps(timings, indent=1), flush=True)


def main():
    floors()
    stages = sys.argv[1:] or ["usual", "disjoint", "transfer", "timing"]
    for stage in stages:
        if stage in PROTOCOLS:
            main_runs(stage)
        elif stage == "transfer":
            transfer_runs()
        elif stage == "timing":
            loss_timing()
        else:
            raise SystemExit(f"unknown stage {stage}; stages: usual disjoint transfer timing")
    assert set(LOSS_ORDER) == set(LOSSES)


if __name__ == "__main__":
    main()
