#!/usr/bin/python3
"""Build the external-data fixtures: ONNX graphs with a tensor whose bytes live in another file.

    /usr/bin/python3 training/build_external_data_models.py

Writes test/fixtures/external-data/*.onnx. ONNX lets a tensor say "my bytes are in file F at offset O"
(TensorProto.data_location = EXTERNAL). onnxruntime resolves F against the working directory when a
model is loaded from bytes, as meanserve loads every model, and hands the file's bytes to the graph: an
uploaded graph of one Identity node returns the server's files to whoever runs it. The tests show each
fixture refused before onnxruntime opens it.

- initializer.onnx: y = Identity(w), w the first 16 bytes of package.json (the leak itself; x → x2 is
  there so the graph has an input a client can send);
- constant-in-subgraph.onnx: an If whose then-branch holds a Constant with an external value;
- sparse-initializer.onnx: a sparse initializer whose values are external;
- function.onnx: a model-local function whose body holds a Constant with an external value;
- training-info.onnx: an external initializer in the training-info initialization graph.

Needs Debian's python3-onnx.
"""

from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 17
IR_VERSION = 8  # what onnxruntime 1.30 (onnxruntime-node) and onnx 1.12 both accept
OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "external-data"
LEAKED_FILE = "package.json"
LEAKED_BYTES = 16


def external(name, location, length=LEAKED_BYTES):
    tensor = TensorProto(name=name, data_type=TensorProto.UINT8, dims=[length])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def passthrough():
    """x → x2, so every fixture has an input and an output a client can use."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    x2 = helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1])
    return helper.make_node("Identity", ["x"], ["x2"]), x, x2


def model(graph, domains=("",), **extra):
    opsets = [helper.make_opsetid(domain, OPSET if domain == "" else 1) for domain in domains]
    built = helper.make_model(graph, opset_imports=opsets, **extra)
    built.ir_version = IR_VERSION
    return built


def initializer():
    node, x, x2 = passthrough()
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [LEAKED_BYTES])
    leak = helper.make_node("Identity", ["w"], ["y"])
    graph = helper.make_graph([node, leak], "leak", [x], [x2, y], [external("w", LEAKED_FILE)])
    return model(graph)


def constant_in_subgraph():
    node, x, x2 = passthrough()
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [LEAKED_BYTES])
    then_out = helper.make_tensor_value_info("then_y", TensorProto.UINT8, [LEAKED_BYTES])
    else_out = helper.make_tensor_value_info("else_y", TensorProto.UINT8, [LEAKED_BYTES])
    then_branch = helper.make_graph(
        [helper.make_node("Constant", [], ["then_y"], value=external("then_value", LEAKED_FILE))],
        "then",
        [],
        [then_out],
    )
    else_branch = helper.make_graph(
        [
            helper.make_node(
                "Constant",
                [],
                ["else_y"],
                value=helper.make_tensor("else_value", TensorProto.UINT8, [LEAKED_BYTES], [0] * LEAKED_BYTES),
            )
        ],
        "else",
        [],
        [else_out],
    )
    condition = helper.make_tensor_value_info("condition", TensorProto.BOOL, [1])
    branch = helper.make_node("If", ["condition"], ["y"], then_branch=then_branch, else_branch=else_branch)
    graph = helper.make_graph([node, branch], "branches", [x, condition], [x2, y])
    return model(graph)


def sparse_initializer():
    node, x, x2 = passthrough()
    values = external("sparse_values", LEAKED_FILE, 2)
    indices = helper.make_tensor("sparse_values_indices", TensorProto.INT64, [2], [0, 3])
    sparse = helper.make_sparse_tensor(values, indices, [4])
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [4])
    graph = helper.make_graph([node, helper.make_node("Identity", ["sparse_values"], ["y"])], "sparse", [x], [x2, y])
    graph.sparse_initializer.append(sparse)
    return model(graph)


def function():
    node, x, x2 = passthrough()
    body = helper.make_function(
        "local",
        "Leak",
        [],
        ["out"],
        [helper.make_node("Constant", [], ["out"], value=external("function_value", LEAKED_FILE))],
        [helper.make_opsetid("", OPSET)],
    )
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [LEAKED_BYTES])
    call = helper.make_node("Leak", [], ["y"], domain="local")
    graph = helper.make_graph([node, call], "function", [x], [x2, y])
    return model(graph, domains=("", "local"), functions=[body])


def training_info():
    node, x, x2 = passthrough()
    built = model(helper.make_graph([node], "trained", [x], [x2]))
    info = built.training_info.add()
    info.initialization.CopyFrom(
        helper.make_graph([], "initialization", [], [], [external("initial", LEAKED_FILE)])
    )
    return built


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in (
        ("initializer", initializer),
        ("constant-in-subgraph", constant_in_subgraph),
        ("sparse-initializer", sparse_initializer),
        ("function", function),
        ("training-info", training_info),
    ):
        path = OUT_DIR / f"{name}.onnx"
        path.write_bytes(build().SerializeToString())
        print(path)


if __name__ == "__main__":
    main()
