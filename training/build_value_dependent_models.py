#!/usr/bin/python3
"""Build the value-dependent fixtures: graphs whose run depends on the values of well-formed inputs.

    /usr/bin/python3 training/build_value_dependent_models.py

Writes the .onnx files of test/fixtures/value-dependent/. Needs Debian's python3-onnx.

- lookup: vector = Gather(table, id), a table of 4 rows of 2 floats (row r is [r, 10 r]), `id` INT64 of shape
  [batch, 1]. An id outside [-4, 3] makes onnxruntime's Gather fail, as a token id past an uploaded language
  model's vocabulary would: the tests show such a request is the client's 422, and that the requests
  micro-batched with it are answered as if it had not been there.
- fill: filled = ConstantOfShape(shape), zeros of the shape its INT64 input names: the size of the answer
  follows an input's values, not its shape, so no bound on the request's size bounds it.
- log: logarithm = Log(x), FP32 [batch, 2]: NaN below 0 and -Infinity at 0 from finite inputs, numbers
  JSON has no spelling for.
- spin: total = x + the largest of `steps` ([batch, 1], INT64), counted up one Loop iteration at a time:
  batched, and as fast as any small model on the zeros a server tries it with, but a request's values
  decide how long it runs.
- forever: the same Loop counted to 2^62 whatever its input: a run that does not end, even on the zeros an
  upload is tried with.
- hog: total = x + the sum of a 20 000 x 20 000 buffer of zeros it fills on every run (ConstantOfShape of a
  constant shape): 1.6 GB whatever its input, more than an uploaded model may hold in the tests.
"""

from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 17
IR_VERSION = 8  # what onnxruntime 1.30 (onnxruntime-node) and onnx 1.12 both accept
OUT_DIR = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "value-dependent"
ROWS = 4


def lookup():
    table = helper.make_tensor("table", TensorProto.FLOAT, [ROWS, 2], [v for r in range(ROWS) for v in (r, 10 * r)])
    axis = helper.make_tensor("axis", TensorProto.INT64, [1], [1])
    ids = helper.make_tensor_value_info("id", TensorProto.INT64, ["batch", 1])
    vector = helper.make_tensor_value_info("vector", TensorProto.FLOAT, ["batch", 2])
    gathered = helper.make_node("Gather", ["table", "id"], ["gathered"], axis=0)
    flat = helper.make_node("Squeeze", ["gathered", "axis"], ["vector"])
    return helper.make_graph([gathered, flat], "lookup", [ids], [vector], [table, axis])


def fill():
    shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
    filled = helper.make_tensor_value_info("filled", TensorProto.FLOAT, ["rows", "columns"])
    return helper.make_graph([helper.make_node("ConstantOfShape", ["shape"], ["filled"])], "fill", [shape], [filled])


def log():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    logarithm = helper.make_tensor_value_info("logarithm", TensorProto.FLOAT, ["batch", 2])
    return helper.make_graph([helper.make_node("Log", ["x"], ["logarithm"])], "log", [x], [logarithm])


def counting_loop():
    """The Loop body of spin and forever: counted_out = counted_in + 1, condition unchanged."""
    return helper.make_graph(
        [
            helper.make_node("Identity", ["condition_in"], ["condition_out"]),
            helper.make_node("Add", ["counted_in", "one"], ["counted_out"]),
        ],
        "count_one",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("condition_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("counted_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("counted_out", TensorProto.FLOAT, []),
        ],
    )


def loop_constants():
    return [
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor("count", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("keep_going", TensorProto.BOOL, [], [True]),
    ]


def forever():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, ["batch", 1])
    trips = helper.make_tensor("trips", TensorProto.INT64, [], [2**62])
    nodes = [
        helper.make_node("Loop", ["trips", "keep_going", "count"], ["counted"], body=counting_loop()),
        helper.make_node("Add", ["x", "counted"], ["total"]),
    ]
    return helper.make_graph(nodes, "forever", [x], [total], [*loop_constants(), trips])


def hog():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, ["batch", 1])
    size = helper.make_tensor("size", TensorProto.INT64, [2], [20_000, 20_000])
    nodes = [
        helper.make_node("ConstantOfShape", ["size"], ["zeros"]),
        helper.make_node("ReduceSum", ["zeros"], ["sum"], keepdims=0),
        helper.make_node("Add", ["x", "sum"], ["total"]),
    ]
    return helper.make_graph(nodes, "hog", [x], [total], [size])


def spin():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1])
    steps = helper.make_tensor_value_info("steps", TensorProto.INT64, ["batch", 1])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, ["batch", 1])
    nodes = [
        helper.make_node("ReduceMax", ["steps"], ["most"], keepdims=0),
        helper.make_node("Loop", ["most", "keep_going", "count"], ["counted"], body=counting_loop()),
        helper.make_node("Add", ["x", "counted"], ["total"]),
    ]
    return helper.make_graph(nodes, "spin", [x, steps], [total], loop_constants())


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, graph in (
        ("lookup", lookup()),
        ("fill", fill()),
        ("log", log()),
        ("spin", spin()),
        ("forever", forever()),
        ("hog", hog()),
    ):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        path = OUT_DIR / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        print(path)


if __name__ == "__main__":
    main()
