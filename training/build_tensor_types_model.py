#!/usr/bin/python3
"""Build tensor-types, the test fixture with one input and one output of every OIP datatype we serve.

    /usr/bin/python3 training/build_tensor_types_model.py

Writes test/fixtures/tensor-types/model.onnx and its manifest entry. The tests add the entry to a copy
of models/manifest.json, so the JSON and binary (Triton binary tensor data) paths of /v2 inference can
be compared for FP32, FP64, INT32, INT64, UINT8 and BOOL. No trained model here has all six types.

Each output is an exact function of its input (negation; 255 - x for UINT8; logical not for BOOL),
so every output bit is predictable. Needs Debian's python3-onnx.
"""

import hashlib
import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 17
IR_VERSION = 8  # what onnxruntime 1.30 (onnxruntime-node) and onnx 1.12 both accept
OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "tensor-types"

# OIP datatype, ONNX element type, and the op that makes the output from the input.
TYPES = [
    ("FP32", TensorProto.FLOAT, "Neg"),
    ("FP64", TensorProto.DOUBLE, "Neg"),
    ("INT32", TensorProto.INT32, "Neg"),
    ("INT64", TensorProto.INT64, "Neg"),
    ("UINT8", TensorProto.UINT8, "ComplementUint8"),
    ("BOOL", TensorProto.BOOL, "Not"),
]
WIDTH = 3


def build():
    nodes, inputs, outputs, initializers = [], [], [], []
    for datatype, elem, op in TYPES:
        name = datatype.lower()
        inputs.append(helper.make_tensor_value_info(f"{name}_in", elem, ["batch", WIDTH]))
        outputs.append(helper.make_tensor_value_info(f"{name}_out", elem, ["batch", WIDTH]))
        if op == "ComplementUint8":
            initializers.append(helper.make_tensor("uint8_max", TensorProto.UINT8, [], [255]))
            nodes.append(helper.make_node("Sub", ["uint8_max", f"{name}_in"], [f"{name}_out"]))
        else:
            nodes.append(helper.make_node(op, [f"{name}_in"], [f"{name}_out"]))
    graph = helper.make_graph(nodes, "tensor_types", inputs, outputs, initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="meanserve/training/build_tensor_types_model.py",
        producer_version="1",
        doc_string="One input and output per OIP datatype; outputs are exact functions of inputs.",
    )
    model.model_version = 1
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    data = build().SerializeToString()
    (OUT_DIR / "model.onnx").write_bytes(data)
    entry = {
        "name": "tensor-types",
        "version": "1",
        "task": "conformance",
        "description": "Test fixture: one input and one output of every OIP datatype, exact outputs.",
        "file": "tensor-types/model.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "max_batch_size": 64,
        "inputs": [{"name": f"{t.lower()}_in", "datatype": t, "shape": [-1, WIDTH]} for t, _, _ in TYPES],
        "outputs": [{"name": f"{t.lower()}_out", "datatype": t, "shape": [-1, WIDTH]} for t, _, _ in TYPES],
        "work": {"max": 64, "rows": "fp32_in"},
        "metrics": {},
        "training": {"command": "/usr/bin/python3 training/build_tensor_types_model.py"},
    }
    (OUT_DIR / "manifest-entry.json").write_text(json.dumps(entry, indent=2) + "\n")
    print(f"wrote {OUT_DIR}/model.onnx ({len(data)} bytes, sha256 {entry['sha256']})")


if __name__ == "__main__":
    main()
