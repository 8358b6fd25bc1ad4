"""PyTorch twins of served models: the weights of models/<name>/model.onnx, checked against its parity vectors.

Evaluation scores what is served. Training is bit-reproducible on one machine but not across CPUs (another
CPU's BLAS rounds differently, and a retrained network drifts), and training/checkpoints is not in a clone, so
the evaluation classifier and the served generators are read back from their ONNX files: the exporter keeps
every parameter under its state_dict name (initializers `trunk.0.weight`, `blocks.0.layers.1.bias`, …).
"""

import json

import numpy as np
import torch
from onnx import load, numpy_helper

from manifest_update import MODELS_DIR

DTYPES = {"FP32": np.float32, "INT64": np.int64}


def load_served(name, module):
    """`module` (already built with the served architecture) with the weights of models/<name>, in eval mode.

    Fails unless the module then reproduces the model's parity.json within its tolerance, so a mismatch
    between the architecture here and the exported graph cannot go unnoticed.
    """
    graph = load(str(MODELS_DIR / name / "model.onnx")).graph
    state = {tensor.name: torch.from_numpy(numpy_helper.to_array(tensor).copy()) for tensor in graph.initializer}
    module.load_state_dict(state, strict=True)
    module.eval()
    check_parity(name, module)
    return module


@torch.no_grad()
def check_parity(name, module):
    parity = json.loads((MODELS_DIR / name / "parity.json").read_text())
    inputs = [torch.from_numpy(np.asarray(t["data"], dtype=DTYPES[t["datatype"]]).reshape(t["shape"])) for t in parity["inputs"].values()]
    outputs = module(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    for (output_name, expected), got in zip(parity["outputs"].items(), outputs):
        error = float(np.max(np.abs(got.numpy().astype(np.float64) - np.asarray(expected["data"], dtype=np.float64).reshape(expected["shape"]))))
        if error > parity["tolerance"]:
            raise ValueError(f"{name}: output {output_name} differs from parity.json by {error:.2e} (tolerance {parity['tolerance']})")
