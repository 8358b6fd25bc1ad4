"""bench/fixtures/matmul.onnx: one MatMul of two FP32 inputs with free dimensions, for bench/completions.ts
to measure onnxruntime's matrix-multiply rate on this CPU (the FLOP ceiling of decoding).

  /usr/bin/python3 bench/matmul_model.py
"""

from pathlib import Path

import onnx
from onnx import TensorProto, helper

graph = helper.make_graph(
    [helper.make_node("MatMul", ["a", "b"], ["c"])],
    "matmul",
    [
        helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", "k"]),
        helper.make_tensor_value_info("b", TensorProto.FLOAT, ["k", "n"]),
    ],
    [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["m", "n"])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="meanserve-bench")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
path = Path(__file__).resolve().parent / "fixtures" / "matmul.onnx"
path.write_bytes(model.SerializeToString())
print(path)
