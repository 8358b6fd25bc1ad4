#!/usr/bin/python3
"""Publish the served embedding models from the retrieval sweep, and the committed demo subset.

    /usr/bin/python3 training/export_embedding.py        (npm run export:embedding; after retrieval_sweep.py)

- fmnist-embed-mf: the mean-field run (either loss, any seed) with the best *validation* MAP@R on the usual
  protocol — the default embedding model.
- fmnist-embed-baseline: the best baseline run chosen the same way, served beside it for comparison.
Each manifest entry carries the run's test metrics (10 000 test images among themselves) and the same metrics
on the demo subset (the first 2 000 test images), which the TypeScript suite reproduces through the API.
The demo subset is written to models/datasets/fashion-mnist-demo/ in Debian's idx.gz format.
"""

import gzip
import json
from pathlib import Path

import numpy as np
import torch

import fmnist_data
from dml_losses import MEAN_FIELD_LOSSES
from dml_metrics import retrieval_metrics
from embedding_network import EmbeddingNet
from manifest_update import MODELS_DIR
from model_export import io_spec, publish_model

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "retrieval" / "usual"
CHECKPOINTS = HERE / "checkpoints" / "embedding"
DEMO_SIZE = 2000
DEMO_DIR = MODELS_DIR / "datasets" / "fashion-mnist-demo"
SERVED = {"fmnist-embed-mf": True, "fmnist-embed-baseline": False}


def best_run(mean_field):
    runs = [json.loads(path.read_text()) | {"run": path.stem} for path in sorted(RESULTS.glob("*.json"))]
    runs = [run for run in runs if (run["loss"] in MEAN_FIELD_LOSSES) == mean_field
            and (CHECKPOINTS / f"{run['run']}.pt").exists()]
    return max(runs, key=lambda run: run["validation"]["map_at_r"])


def write_idx_gz(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in array.shape)
    # mtime=0: the same data gives the same bytes
    with gzip.GzipFile(path, "wb", mtime=0) as file:
        file.write(header + array.astype(np.uint8).tobytes())


def write_demo(images, labels):
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    write_idx_gz(DEMO_DIR / "t10k-images-idx3-ubyte.gz", images[:DEMO_SIZE], 2051)
    write_idx_gz(DEMO_DIR / "t10k-labels-idx1-ubyte.gz", labels[:DEMO_SIZE], 2049)
    (DEMO_DIR / "README.md").write_text(
        "# Fashion-MNIST demo subset\n\n"
        f"The first {DEMO_SIZE} images of the Fashion-MNIST test split (t10k), in the same idx.gz format as\n"
        "Debian's dataset-fashion-mnist package, for the test suite and the README example\n"
        "(`collections.index` with `source.split = \"demo\"`). Written by `npm run export:embedding`.\n"
        "Fashion-MNIST is © Zalando SE, MIT licence.\n"
    )


def card(name, run, metrics, command):
    test, demo = metrics["test"], metrics["demo"]
    role = ("the default embedding model (best mean-field run by validation MAP@R)" if SERVED[name]
            else "the best baseline by validation MAP@R, served beside the mean-field model for comparison")
    return f"""# {name} (version 1)

Fashion-MNIST image embedding, {run['dim']}-d, L2-normalised: {role}. Trained with the
**{run['loss']}** loss. Evaluation protocol, every loss and the comparison: `docs/retrieval.md`.

- **Interface**: input `image` FP32 `[N, 1, 28, 28]`, intensities in [0, 1] (dataset uint8 / 255); output
  `embedding` FP32 `[N, {run['dim']}]`, unit length (cosine similarity = dot product).
- **Architecture**: 4 conv blocks (3×3, 16/32/64/64 channels, BatchNorm, ReLU; max-pool after the first two),
  global average + max pooling, linear to {run['dim']}, L2 normalisation in the graph.
- **Training**: `{command}`; run `{run['run']}`: {run['training_images']} training images (the training
  split minus a 5 000-image validation split), AdamW lr {run['lr']}, class-parameter lr ×{run['class_lr_ratio']},
  batch {run['batch_size']}, {run['epochs']} epochs (epoch {run['chosen_epoch']} chosen on validation MAP@R),
  {run['training_seconds']:.0f} s on 2 CPU threads.
- **Measured quality** (cosine, each query against the other images of its set):
  - test split (10 000): MAP@R **{test['map_at_r']:.4f}**, P@1 {test['precision_at_1']:.4f},
    R-Precision {test['r_precision']:.4f}, Recall@2/4/8 {test['recall_at_2']:.4f} / {test['recall_at_4']:.4f} / {test['recall_at_8']:.4f};
  - validation split (5 000): MAP@R {metrics['validation']['map_at_r']:.4f};
  - demo subset (first 2 000 test images): MAP@R {demo['map_at_r']:.4f}, P@1 {demo['precision_at_1']:.4f} —
    reproduced through the API by `test/collections-index.test.ts`.
  - raw-pixel floor on the test split: MAP@R {metrics['floor_raw_pixels_test']['map_at_r']:.4f}.
- **Parity**: `parity.json` holds the first 4 test images and PyTorch's outputs; a correct runtime matches
  within 1e-4.
"""


def main():
    torch.set_num_threads(2)
    test_uint8, test_labels = fmnist_data.load_split("test")
    write_demo(test_uint8, test_labels)
    test_images = torch.from_numpy(fmnist_data.to_unit_range(test_uint8))
    floors = json.loads((HERE / "results" / "retrieval" / "floors.json").read_text())
    for name, mean_field in SERVED.items():
        run = best_run(mean_field)
        model = EmbeddingNet(run["dim"])
        model.load_state_dict(torch.load(CHECKPOINTS / f"{run['run']}.pt")["state"])
        model.eval()
        with torch.no_grad():
            demo = retrieval_metrics(model(test_images[:DEMO_SIZE]), test_labels[:DEMO_SIZE])
        metrics = {
            "loss": run["loss"],
            "run": run["run"],
            "protocol": "usual: trained on the training split minus validation, test images among themselves",
            "test": run["test"],
            "validation": run["validation"],
            "demo": demo,
            "floor_raw_pixels_test": floors["usual/test/raw-pixels"],
        }
        command = "npm run train:retrieval-sweep && npm run export:embedding"
        publish_model(
            name,
            model,
            {"image": test_images[:4].numpy().astype(np.float32)},
            [io_spec("image", "FP32", [1, 28, 28], (0.0, 1.0))],
            [io_spec("embedding", "FP32", [run["dim"]])],
            f"Fashion-MNIST image embedding ({run['dim']}-d, unit length) trained with the {run['loss']} loss.",
            "embedding",
            metrics,
            {"command": command, "seed": run["seed"], "seconds": run["training_seconds"]},
            card(name, run, metrics, command),
        )


if __name__ == "__main__":
    main()
