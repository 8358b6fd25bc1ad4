"""PyTorch-side helpers shared by the Fashion-MNIST training scripts: setup, ONNX export, model files.

Every served model directory models/<name>/ gets model.onnx, parity.json (a few rows computed by
PyTorch), metrics.json and CARD.md, and the model's entry in models/manifest.json is replaced.
"""

import random
import time

import numpy as np
import onnx
import torch

from manifest_update import MODELS_DIR, sha256_of, upsert_entries, write_json, write_parity

OPSET = 17  # torch 1.13 exports up to 17; onnxruntime-node 1.30 runs it
PARITY_TOLERANCE = 1e-4
MAX_BATCH_SIZE = 256


def configure_torch(seed):
    """One thread (the 2-core box is shared with the test suite) and every generator seeded."""
    torch.set_num_threads(1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Stopwatch:
    """Accumulates training seconds across resumed runs (the checkpoint stores the running total)."""

    def __init__(self, already=0.0):
        self.already = already
        self.started = time.perf_counter()

    def seconds(self):
        return self.already + time.perf_counter() - self.started


def export_onnx(module, example_inputs, input_names, output_names, path):
    """Export with a dynamic first (batch) dimension, then run onnx's full checker on the result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    torch.onnx.export(
        module,
        tuple(example_inputs),
        str(path),
        input_names=input_names,
        output_names=output_names,
        dynamic_axes={name: {0: "batch"} for name in input_names + output_names},
        opset_version=OPSET,
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def io_spec(name, datatype, shape, value_range=None):
    """Manifest tensor description; shape excludes the batch dimension, which is always dynamic."""
    spec = {"name": name, "datatype": datatype, "shape": [-1, *shape]}
    if value_range is not None:
        spec["range"] = {"minimum": value_range[0], "maximum": value_range[1]}
    return spec


def publish_model(name, module, parity_inputs, input_specs, output_specs, description, task, metrics, training, card,
                  extra=None, version="1"):
    """Write models/<name>/{model.onnx, parity.json, metrics.json, CARD.md} and update the manifest.

    parity_inputs: dict name -> numpy array, in the module's argument order.
    extra: further manifest keys (e.g. "generator").
    """
    directory = MODELS_DIR / name
    model_path = directory / "model.onnx"
    example = [torch.from_numpy(array) for array in parity_inputs.values()]
    export_onnx(module, example, list(parity_inputs), [spec["name"] for spec in output_specs], model_path)
    with torch.no_grad():
        outputs = module(*example)
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    parity_outputs = {spec["name"]: out.numpy() for spec, out in zip(output_specs, outputs)}
    write_parity(directory / "parity.json", parity_inputs, parity_outputs, PARITY_TOLERANCE)
    write_json(directory / "metrics.json", metrics)
    (directory / "CARD.md").write_text(card)
    entry = {
        "name": name,
        "version": version,
        "task": task,
        "description": description,
        "file": f"{name}/model.onnx",
        "sha256": sha256_of(model_path),
        "max_batch_size": MAX_BATCH_SIZE,
        "inputs": input_specs,
        "outputs": output_specs,
        # One request may ask for at most a full batch; its first input's first dimension counts the rows.
        "work": {"max": MAX_BATCH_SIZE, "rows": input_specs[0]["name"]},
        "metrics": metrics,
        "training": training,
        "card": f"{name}/CARD.md",
        **(extra or {}),
    }
    upsert_entries([entry])
    print(f"wrote {model_path} (sha256 {entry['sha256']}) and its manifest entry")
    return entry
