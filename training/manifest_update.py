"""Helpers shared by every training script for models/manifest.json and the per-model JSON files.

Needs only the standard library and numpy, so training/build_test_models.py can use it too.
Each script updates its own entries and leaves every other model in the manifest untouched.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
MANIFEST_PATH = MODELS_DIR / "manifest.json"


def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=2) + "\n")


def tensor_json(array):
    """KServe-v2-style tensor: datatype, shape, flat row-major data as plain JSON numbers."""
    datatype = {np.dtype(np.float32): "FP32", np.dtype(np.int64): "INT64"}[array.dtype]
    return {"datatype": datatype, "shape": list(array.shape), "data": array.reshape(-1).tolist()}


def write_parity(path, inputs, outputs, tolerance):
    """parity.json: named input tensors, the outputs a correct runtime must reproduce, the tolerance."""
    write_json(
        path,
        {
            "inputs": {k: tensor_json(v) for k, v in inputs.items()},
            "outputs": {k: tensor_json(v) for k, v in outputs.items()},
            "tolerance": tolerance,
        },
    )


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(manifest_path=MANIFEST_PATH):
    try:
        return json.loads(manifest_path.read_text())
    except FileNotFoundError:
        return {"models": []}


def upsert_entries(entries, manifest_path=MANIFEST_PATH):
    """Replace the manifest entries with these names (keeping their position) or append them."""
    manifest = read_manifest(manifest_path)
    models = manifest["models"]
    for entry in entries:
        positions = [i for i, existing in enumerate(models) if existing["name"] == entry["name"]]
        if positions:
            models[positions[0]] = entry
        else:
            models.append(entry)
    write_json(manifest_path, manifest)


def merge_metrics(name, metrics, manifest_path=MANIFEST_PATH):
    """Add metrics measured after training (e.g. by an evaluation script) to an existing entry."""
    manifest = read_manifest(manifest_path)
    for entry in manifest["models"]:
        if entry["name"] == name:
            entry["metrics"].update(metrics)
            write_json(manifest_path, manifest)
            return
    raise KeyError(f"{name} is not in {manifest_path}")
