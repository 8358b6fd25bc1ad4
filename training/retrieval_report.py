#!/usr/bin/python3
"""Tables and the query → top-8 picture of docs/retrieval.md, from the sweep's result files.

    /usr/bin/python3 training/retrieval_report.py        (npm run report:retrieval; after the sweep and export)

Replaces the text between `<!-- results:start -->` and `<!-- results:end -->` in docs/retrieval.md and
writes docs/retrieval-top8.png (8 test queries of the served mean-field model, each followed by its 8
nearest other test images; a green frame marks a result of the query's class, red another class).
"""

import json
import statistics
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

import fmnist_data
from embedding_network import EmbeddingNet
from retrieval_sweep import LOSS_ORDER, RESULTS, TRANSFER_VARIANTS, setting_name, KNOBS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "retrieval.md"
PICTURE = ROOT / "docs" / "retrieval-top8.png"
START, END = "<!-- results:start -->", "<!-- results:end -->"
METRICS = [("map_at_r", "MAP@R"), ("precision_at_1", "P@1"), ("r_precision", "R-Prec"),
           ("recall_at_2", "R@2"), ("recall_at_4", "R@4"), ("recall_at_8", "R@8")]


def load(protocol, name):
    path = RESULTS / protocol / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def mean_std(values):
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def protocol_table(protocol):
    floors = json.loads((RESULTS / "floors.json").read_text())
    lines = ["| loss | setting (chosen on validation) | validation MAP@R, seed 0: both settings | "
             + " | ".join(label for _, label in METRICS) + " | seeds |",
             "|---" * (4 + len(METRICS)) + "|"]
    for loss in LOSS_ORDER:
        seed0 = {setting_name(extra): load(protocol, f"{loss}-{setting_name(extra)}-seed0") for extra in KNOBS[loss]}
        if any(run is None for run in seed0.values()):
            continue
        chosen = max(seed0, key=lambda name: seed0[name]["validation"]["map_at_r"])
        runs = [load(protocol, f"{loss}-{chosen}-seed{seed}") for seed in (0, 1, 2)]
        runs = [run for run in runs if run is not None]
        both = " / ".join(f"{name} {run['validation']['map_at_r']:.3f}" for name, run in seed0.items())
        cells = [mean_std([run["test"][key] for run in runs]) for key, _ in METRICS]
        lines.append(f"| {loss} | {chosen} | {both} | " + " | ".join(cells) + f" | {len(runs)} |")
    for floor in ("raw-pixels", "pca-64"):
        test = floors[f"{protocol}/test/{floor}"]
        lines.append(f"| *floor: {floor}* | — | {floors[f'{protocol}/validation/{floor}']['map_at_r']:.3f} | "
                     + " | ".join(f"{test[key]:.3f}" for key, _ in METRICS) + " | — |")
    return "\n".join(lines)


def transfer_table():
    lines = ["| loss | variant | chosen epoch | validation MAP@R (classes 0–4) | test MAP@R (classes 5–9) | test P@1 |",
             "|---|---|---|---|---|---|"]
    for loss in ("mf-contrastive", "mf-cwms"):
        for extra in KNOBS[loss]:
            base = load("disjoint", f"{loss}-{setting_name(extra)}-seed0")
            if base is None or load("disjoint", f"{loss}-{setting_name(extra)}-seed1") is None:
                continue
            variants = [("2 epochs, 64-d, no augmentation", base)]
            for variant in TRANSFER_VARIANTS:
                run = load("disjoint", f"{loss}-{setting_name(extra)}-{variant}-seed0")
                if run is not None:
                    variants.append((variant, run))
            for label, run in variants:
                lines.append(f"| {loss} ({setting_name(extra)}) | {label} | {run['chosen_epoch']} | "
                             f"{run['validation']['map_at_r']:.3f} | {run['test']['map_at_r']:.3f} | "
                             f"{run['test']['precision_at_1']:.3f} |")
    return "\n".join(lines)


def timing_table():
    path = RESULTS / "loss_timing.json"
    if not path.exists():
        return "(not measured yet)"
    timing = json.loads(path.read_text())
    sizes = list(next(iter(timing["timings"].values())))
    lines = ["| loss | " + " | ".join(f"B = {size}" for size in sizes) + " | 4096 / 512 |",
             "|---" * (len(sizes) + 2) + "|"]
    for loss, row in timing["timings"].items():
        ratio = row[sizes[-1]] / row["512"] if "512" in row else float("nan")
        lines.append(f"| {loss} | " + " | ".join(f"{row[size]:.2f}" for size in sizes) + f" | {ratio:.1f}× |")
    return "\n".join(lines)


def write_rgb_png(path, rgb):
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].astype(np.uint8).tobytes() for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                     + chunk(b"IEND", b""))


def top8_picture():
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    entry = next(model for model in manifest["models"] if model["name"] == "fmnist-embed-mf")
    checkpoint = Path(__file__).resolve().parent / "checkpoints" / "embedding" / f"{entry['metrics']['run']}.pt"
    model = EmbeddingNet(entry["outputs"][0]["shape"][1])
    model.load_state_dict(torch.load(checkpoint)["state"])
    model.eval()
    images, labels = fmnist_data.load_split("test")
    with torch.no_grad():
        vectors = torch.cat([model(torch.from_numpy(fmnist_data.to_unit_range(images[i:i + 1000])))
                             for i in range(0, len(images), 1000)])
    queries = [int(np.flatnonzero(labels == c)[3]) for c in (0, 2, 3, 5, 6, 7, 8, 9)]
    cell, frame = 32, 2
    canvas = np.full((len(queries) * cell, 9 * cell + 8, 3), 255, dtype=np.uint8)
    for row, query in enumerate(queries):
        similarity = vectors @ vectors[query]
        similarity[query] = -2.0
        found = similarity.topk(8).indices.tolist()
        for column, index in enumerate([query, *found]):
            x = column * cell + (8 if column > 0 else 0)
            y = row * cell
            colour = (80, 80, 80) if column == 0 else (0, 170, 0) if labels[index] == labels[query] else (220, 0, 0)
            canvas[y + frame - 2:y + cell - frame + 2, x + frame - 2:x + cell - frame + 2] = colour
            canvas[y + frame:y + frame + 28, x + frame:x + frame + 28] = images[index][:, :, None]
    write_rgb_png(PICTURE, canvas)
    return queries


def main():
    queries = top8_picture()
    body = f"""{START}
### Usual split (train on all ten classes, test images among themselves, R = 999)

{protocol_table('usual')}

### Class-disjoint split (train on classes 0–4, test on the unseen classes 5–9, R = 999)

{protocol_table('disjoint')}

### Transfer variants on the class-disjoint split (seed 0)

{transfer_table()}

### Loss computation time (forward + backward of the loss alone, ms, 64-d, 10 classes, 1 thread, median of 5)

{timing_table()}

### Query → top 8 (served model `fmnist-embed-mf`, test split)

![query then its 8 nearest other test images](retrieval-top8.png)

Rows: test images {', '.join(map(str, queries))} (the fourth image of classes T-shirt/top, Pullover, Dress,
Sandal, Shirt, Sneaker, Bag, Ankle boot); first column the query, then its nearest neighbours; green frame:
same class, red: another class.
{END}"""
    text = DOC.read_text()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    DOC.write_text(before + body + after)
    print(f"updated {DOC} and {PICTURE}")


if __name__ == "__main__":
    main()
