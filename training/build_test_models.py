#!/usr/bin/python3
"""Build meanserve's two small test models, their parity files and models/manifest.json.

    /usr/bin/python3 training/build_test_models.py      (also: npm run build:test-models)

Models (written under models/):
  spiral-mlp    a 2->32->32->3 tanh MLP trained here, in numpy, on a seeded 3-class spiral.
  iterated-map  h <- tanh(h W + b) unrolled by an ONNX Loop whose trip count is an input,
                so a test can ask for an inference that takes a chosen amount of time.

Everything is derived from seed 0 and run single-threaded, so a second run on the same
machine writes byte-identical ONNX and parity files. Only the timing numbers in
models/manifest.json change between runs.

Needs Debian's python3-onnx and python3-numpy (apt-get install -y python3-onnx python3-numpy).
"""

import os

# Pin BLAS to one thread before numpy is imported: a multithreaded matmul may sum in a
# different order from run to run, which would move low bits of the trained weights and
# with them the sha256 of the model file.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import manifest_update  # noqa: E402  (training/, shared with the Fashion-MNIST scripts)

SEED = 0
OPSET = 17
IR_VERSION = 8  # what onnxruntime 1.30 (onnxruntime-node) and onnx 1.12 both accept
PARITY_TOLERANCE = 1e-4
TRAINING_COMMAND = "npm run build:test-models"
PRODUCER = "meanserve/training/build_test_models.py"

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"

# spiral-mlp settings
SPIRAL_CLASSES = 3
SPIRAL_POINTS_PER_CLASS = 200  # per split: 600 training points and 600 held-out points
SPIRAL_ANGLE_NOISE = 0.4  # radians of Gaussian noise on each point's angle
SPIRAL_HIDDEN = 32
SPIRAL_STEPS = 2000
SPIRAL_LEARNING_RATE = 0.01
SPIRAL_PARITY_EXAMPLES = 16

# iterated-map settings
MAP_WIDTH = 8
MAP_SPECTRAL_NORM = 0.9  # < 1 and tanh is 1-Lipschitz, so the map is a contraction
MAP_PARITY_EXAMPLES = 4
MAP_PARITY_STEPS = 5
# The server refuses larger trip counts (manifest `range`): about 1.4 s of compute at batch 1.
MAP_MAX_STEPS = 1_000_000
# Rows × steps one request may ask for (manifest `work`): about 1 s at 10 ns per row-step, plus the steps'
# own overhead; more is the onnx.batch-infer job's business. The model runs in a pool of its own.
MAP_MAX_WORK = 100_000_000


# ---------------------------------------------------------------------------
# spiral-mlp: data and training (float64 numpy)
# ---------------------------------------------------------------------------


def make_spiral(rng, points_per_class, angle_noise):
    """Three interleaved spiral arms in 2-D; returns (x [n,2] float64, y [n] int64), shuffled.

    Each point draws its own position t along its arm, so training and held-out sets
    sampled from the same rng are different points from the same distribution.
    """
    xs, ys = [], []
    for k in range(SPIRAL_CLASSES):
        t = rng.uniform(0.0, 1.0, points_per_class)
        angle = 2.0 * np.pi * k / SPIRAL_CLASSES + 4.0 * t + rng.normal(0.0, angle_noise, points_per_class)
        xs.append(np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1))
        ys.append(np.full(points_per_class, k, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    # Shuffle so the first held-out rows (used for parity) cover all classes.
    order = rng.permutation(len(y))
    return x[order], y[order]


def init_mlp(rng, sizes):
    """Weights ~ N(0, 1/fan_in), biases zero: keeps tanh units out of saturation at the start."""
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0.0, 1.0 / np.sqrt(fan_in), (fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    return params


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)  # subtract the row max so exp cannot overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mlp_forward(params, x):
    """Forward pass; returns (logits, cache of activations for the backward pass)."""
    h1 = np.tanh(x @ params["W1"] + params["b1"])
    h2 = np.tanh(h1 @ params["W2"] + params["b2"])
    logits = h2 @ params["W3"] + params["b3"]
    return logits, (x, h1, h2)


def mlp_loss_and_grads(params, x, y):
    """Mean cross-entropy and its gradient with respect to every parameter."""
    logits, (x, h1, h2) = mlp_forward(params, x)
    p = softmax(logits)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    dz = p.copy()
    dz[np.arange(n), y] -= 1.0
    dz /= n
    grads = {"W3": h2.T @ dz, "b3": dz.sum(axis=0)}
    da2 = (dz @ params["W3"].T) * (1.0 - h2**2)  # d tanh(a) / da = 1 - tanh(a)^2
    grads["W2"], grads["b2"] = h1.T @ da2, da2.sum(axis=0)
    da1 = (da2 @ params["W2"].T) * (1.0 - h1**2)
    grads["W1"], grads["b1"] = x.T @ da1, da1.sum(axis=0)
    return loss, grads


def train_adam(params, x, y, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Full-batch Adam; the data set is small enough that minibatches buy nothing."""
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    for step in range(1, steps + 1):
        loss, grads = mlp_loss_and_grads(params, x, y)
        for k in params:
            m[k] = beta1 * m[k] + (1.0 - beta1) * grads[k]
            v[k] = beta2 * v[k] + (1.0 - beta2) * grads[k] ** 2
            m_hat = m[k] / (1.0 - beta1**step)
            v_hat = v[k] / (1.0 - beta2**step)
            params[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
        if step == 1 or step % 1000 == 0:
            print(f"  step {step:5d}  training loss {loss:.4f}")
    return params


# ---------------------------------------------------------------------------
# spiral-mlp: float32 reference computation (what the served model must reproduce)
# ---------------------------------------------------------------------------


def spiral_reference(weights, x):
    """numpy float32 forward pass, written independently of the ONNX graph."""
    x = x.astype(np.float32)
    h1 = np.tanh(x @ weights["W1"] + weights["b1"])
    h2 = np.tanh(h1 @ weights["W2"] + weights["b2"])
    logits = (h2 @ weights["W3"] + weights["b3"]).astype(np.float32)
    probabilities = softmax(logits).astype(np.float32)
    label = np.argmax(logits, axis=1).astype(np.int64)  # first index wins ties, as ONNX ArgMax
    return {"logits": logits, "probabilities": probabilities, "label": label}


def build_spiral_graph(weights):
    """x [batch,2] -> MatMul/Add/Tanh x2 -> MatMul/Add = logits -> Softmax, ArgMax."""
    initializers = [numpy_helper.from_array(weights[k], name=k) for k in sorted(weights)]
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["a1_lin"]),
        helper.make_node("Add", ["a1_lin", "b1"], ["a1"]),
        helper.make_node("Tanh", ["a1"], ["h1"]),
        helper.make_node("MatMul", ["h1", "W2"], ["a2_lin"]),
        helper.make_node("Add", ["a2_lin", "b2"], ["a2"]),
        helper.make_node("Tanh", ["a2"], ["h2"]),
        helper.make_node("MatMul", ["h2", "W3"], ["logits_lin"]),
        helper.make_node("Add", ["logits_lin", "b3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "spiral_mlp",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        outputs=[
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", SPIRAL_CLASSES]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", SPIRAL_CLASSES]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        ],
        initializer=initializers,
    )
    return make_model(graph, "3-class 2-D spiral classifier, 2->32->32->3 tanh MLP (meanserve test model).")


# ---------------------------------------------------------------------------
# iterated-map
# ---------------------------------------------------------------------------


def make_map_weights(rng):
    """Seeded W (8x8) rescaled to spectral norm 0.9, and b (8); both float32."""
    w = rng.normal(0.0, 1.0, (MAP_WIDTH, MAP_WIDTH))
    w *= MAP_SPECTRAL_NORM / np.linalg.norm(w, ord=2)
    b = rng.normal(0.0, 0.5, MAP_WIDTH)
    return {"W": w.astype(np.float32), "b": b.astype(np.float32)}


def map_reference(weights, x, steps):
    """numpy float32 unrolled recurrence: h_0 = x, h_{k+1} = tanh(h_k W + b), y = h_steps."""
    h = x.astype(np.float32)
    for _ in range(steps):
        h = np.tanh(h @ weights["W"] + weights["b"]).astype(np.float32)
    return {"y": h}


def build_map_graph(weights):
    """steps [1] -> Squeeze -> Loop(trip count, no condition, carried h = x) -> y."""
    # Loop body: (iteration, condition, h) -> (condition, tanh(h W + b)).
    # W and b are outer-graph initializers, which the body may read by name.
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("MatMul", ["h_in", "W"], ["h_lin"]),
            helper.make_node("Add", ["h_lin", "b"], ["h_pre"]),
            helper.make_node("Tanh", ["h_pre"], ["h_out"]),
        ],
        "iterated_map_step",
        inputs=[
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [None, MAP_WIDTH]),
        ],
        outputs=[
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [None, MAP_WIDTH]),
        ],
    )
    initializers = [
        numpy_helper.from_array(weights["W"], name="W"),
        numpy_helper.from_array(weights["b"], name="b"),
        # Loop wants a scalar trip count; the API input is shape [1] so it fits the
        # server's "every tensor has a shape" contract, hence the Squeeze.
        numpy_helper.from_array(np.array([0], dtype=np.int64), name="squeeze_axes"),
    ]
    nodes = [
        helper.make_node("Squeeze", ["steps", "squeeze_axes"], ["trip_count"]),
        # The empty second input means "no loop condition": run exactly trip_count times.
        helper.make_node("Loop", ["trip_count", "", "x"], ["y"], body=body),
    ]
    graph = helper.make_graph(
        nodes,
        "iterated_map",
        inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", MAP_WIDTH]),
            helper.make_tensor_value_info("steps", TensorProto.INT64, [1]),
        ],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", MAP_WIDTH])],
        initializer=initializers,
    )
    return make_model(graph, "h <- tanh(h W + b) iterated `steps` times by an ONNX Loop (meanserve test model).")


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def make_model(graph, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name=PRODUCER,
        producer_version="1",
        doc_string=doc,
    )
    model.model_version = 1
    onnx.checker.check_model(model, full_check=True)  # full_check also runs strict shape inference
    return model


def initializer_arrays(model):
    """Read the weights back out of the ONNX model so parity uses exactly what was exported."""
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def write_parity(path, inputs, outputs):
    manifest_update.write_parity(path, inputs, outputs, PARITY_TOLERANCE)


def check_with_reference_evaluator(model, inputs, expected):
    """Cross-check the graph against numpy with onnx's own evaluator, where this onnx has one.

    onnx.reference arrived in onnx 1.13; Debian 12 ships 1.12, so there the check is skipped
    and onnxruntime-node is the independent check (see training/README.md).
    Returns the max abs error, or None when skipped.
    """
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        print(f"  onnx {onnx.__version__} has no onnx.reference; ReferenceEvaluator check skipped")
        return None
    try:
        got = ReferenceEvaluator(model).run(None, inputs)
    except Exception as exc:  # an evaluator that cannot run an op (e.g. Loop) is not a model error
        print(f"  ReferenceEvaluator could not run this graph ({exc}); check skipped")
        return None
    worst = 0.0
    for name, value in zip([o.name for o in model.graph.output], got):
        err = float(np.max(np.abs(np.asarray(value, dtype=np.float64) - expected[name].astype(np.float64))))
        worst = max(worst, err)
    if worst > PARITY_TOLERANCE:
        sys.exit(f"ReferenceEvaluator disagrees with numpy by {worst:.3g} (> {PARITY_TOLERANCE}); aborting")
    print(f"  ReferenceEvaluator agrees with numpy, max abs error {worst:.3g}")
    return worst


def save_model(model, directory):
    directory.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    (directory / "model.onnx").write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def io_entry(name, datatype, shape, value_range=None):
    entry = {"name": name, "datatype": datatype, "shape": shape}
    if value_range is not None:
        entry["range"] = value_range
    return entry


# ---------------------------------------------------------------------------
# model builders: each writes model.onnx, parity.json, CARD.md and returns its manifest entry
# ---------------------------------------------------------------------------


def build_spiral_mlp(rng, out_dir):
    print("spiral-mlp")
    started = time.perf_counter()
    x_train, y_train = make_spiral(rng, SPIRAL_POINTS_PER_CLASS, SPIRAL_ANGLE_NOISE)
    x_held, y_held = make_spiral(rng, SPIRAL_POINTS_PER_CLASS, SPIRAL_ANGLE_NOISE)
    params = init_mlp(rng, [2, SPIRAL_HIDDEN, SPIRAL_HIDDEN, SPIRAL_CLASSES])
    params = train_adam(params, x_train, y_train, SPIRAL_STEPS, SPIRAL_LEARNING_RATE)
    seconds = time.perf_counter() - started

    model = build_spiral_graph({k: v.astype(np.float32) for k, v in params.items()})
    weights = initializer_arrays(model)
    # Accuracy is measured on the float32 weights actually shipped, not the float64 ones trained.
    train_accuracy = float(np.mean(spiral_reference(weights, x_train)["label"] == y_train))
    held_out = spiral_reference(weights, x_held)
    held_accuracy = float(np.mean(held_out["label"] == y_held))
    # Reported in the card so tests do not expect calibrated, mid-range probabilities.
    median_confidence = float(np.median(held_out["probabilities"].max(axis=1)))
    print(f"  training accuracy {train_accuracy:.4f}, held-out accuracy {held_accuracy:.4f} ({len(y_held)} points)")
    if held_accuracy <= 0.9:
        sys.exit(f"held-out accuracy {held_accuracy:.4f} is not above 0.9; aborting")

    parity_x = x_held[:SPIRAL_PARITY_EXAMPLES].astype(np.float32)
    expected = spiral_reference(weights, parity_x)
    check_with_reference_evaluator(model, {"x": parity_x}, expected)

    model_dir = out_dir / "spiral-mlp"
    sha = save_model(model, model_dir)
    write_parity(model_dir / "parity.json", {"x": parity_x}, expected)
    (model_dir / "CARD.md").write_text(spiral_card(train_accuracy, held_accuracy, len(y_held), median_confidence))
    return {
        "name": "spiral-mlp",
        "version": "1",
        "task": "classification",
        "description": "Three-class classifier of 2-D points on interleaved spiral arms; a small tanh MLP trained in numpy.",
        "file": "spiral-mlp/model.onnx",
        "sha256": sha,
        "max_batch_size": 64,
        "inputs": [io_entry("x", "FP32", [-1, 2])],
        "outputs": [
            io_entry("logits", "FP32", [-1, SPIRAL_CLASSES]),
            io_entry("probabilities", "FP32", [-1, SPIRAL_CLASSES]),
            io_entry("label", "INT64", [-1]),
        ],
        "work": {"max": 64, "rows": "x"},
        "metrics": {"heldout_accuracy": round(held_accuracy, 4), "heldout_examples": len(y_held)},
        "training": {"command": TRAINING_COMMAND, "seed": SEED, "seconds": round(seconds, 2)},
        "card": "spiral-mlp/CARD.md",
    }


def build_iterated_map(rng, out_dir):
    print("iterated-map")
    started = time.perf_counter()
    model = build_map_graph(make_map_weights(rng))
    weights = initializer_arrays(model)
    parity_x = rng.normal(0.0, 1.0, (MAP_PARITY_EXAMPLES, MAP_WIDTH)).astype(np.float32)
    parity_steps = np.array([MAP_PARITY_STEPS], dtype=np.int64)
    expected = map_reference(weights, parity_x, MAP_PARITY_STEPS)
    check_with_reference_evaluator(model, {"x": parity_x, "steps": parity_steps}, expected)
    seconds = time.perf_counter() - started

    model_dir = out_dir / "iterated-map"
    sha = save_model(model, model_dir)
    write_parity(model_dir / "parity.json", {"x": parity_x, "steps": parity_steps}, expected)
    # CARD.md and the timing metric are filled in by main(), which knows the onnxruntime timing.
    return {
        "name": "iterated-map",
        "version": "1",
        "task": "test-compute",
        "description": "Contractive recurrent map h <- tanh(h W + b) applied `steps` times by an ONNX Loop, for inferences of controllable length.",
        "file": "iterated-map/model.onnx",
        "sha256": sha,
        "max_batch_size": 0,
        "inputs": [io_entry("x", "FP32", [-1, MAP_WIDTH]), io_entry("steps", "INT64", [1], {"minimum": 0, "maximum": MAP_MAX_STEPS})],
        "outputs": [io_entry("y", "FP32", [-1, MAP_WIDTH])],
        "work": {"max": MAP_MAX_WORK, "rows": "x", "per_row": "steps"},
        "pool": "iterated-map",
        "metrics": {"microseconds_per_step_batch1": None},
        "training": {"command": TRAINING_COMMAND, "seed": SEED, "seconds": round(seconds, 2)},
        "card": "iterated-map/CARD.md",
    }


# ---------------------------------------------------------------------------
# model cards
# ---------------------------------------------------------------------------


def spiral_card(train_accuracy, held_accuracy, held_examples, median_confidence):
    return f"""# spiral-mlp (version 1)

A small, really trained classifier that meanserve's tests and examples serve.

- **Data**: a synthetic 3-class spiral in 2-D, generated by `training/build_test_models.py`
  from seed {SEED}: each arm is `r = t`, `angle = 2*pi*k/3 + 4t + noise`, `t ~ U(0,1)`,
  angle noise N(0, {SPIRAL_ANGLE_NOISE}) rad. {SPIRAL_POINTS_PER_CLASS * SPIRAL_CLASSES} training points
  and {held_examples} separately drawn held-out points (balanced classes).
- **Training**: `{TRAINING_COMMAND}` (= `/usr/bin/python3 training/build_test_models.py`).
  Pure numpy, full-batch Adam (lr {SPIRAL_LEARNING_RATE}), mean cross-entropy, {SPIRAL_STEPS} steps.
- **Architecture**: 2 -> {SPIRAL_HIDDEN} -> {SPIRAL_HIDDEN} -> 3 MLP, tanh activations, float32 weights.
  ONNX opset {OPSET}, IR version {IR_VERSION}.
- **Interface**: input `x` FP32 `[batch, 2]`; outputs `logits` FP32 `[batch, 3]`,
  `probabilities` FP32 `[batch, 3]` (softmax over axis 1), `label` INT64 `[batch]` (argmax).
- **Measured quality** (float32 weights as shipped): held-out accuracy {held_accuracy:.4f} on
  {held_examples} points; training accuracy {train_accuracy:.4f}. It is confident: the median
  top-class probability on held-out points is {median_confidence:.6f}.
- **Parity**: `parity.json` holds 16 held-out inputs and the outputs of an independent numpy
  forward pass; a correct runtime matches within {PARITY_TOLERANCE}.
- **Intended use and limits**: a serving test fixture (batching, tensor I/O, multiple outputs,
  INT64 outputs). It knows nothing outside the unit disc of this toy distribution and is not a product.
"""


def map_card(us_per_step):
    if us_per_step is None:
        timing = "not measured for this build (see training/README.md)."
    else:
        per_second = int(round(1e6 / us_per_step, -3))
        timing = (
            f"{us_per_step} microseconds per Loop step at batch 1 in onnxruntime-node 1.30 (CPU,\n"
            f"  single-threaded session) on the machine that built it, i.e. about {per_second} steps for one\n"
            f"  second of compute. It varies by machine: calibrate, do not hard-code, in timing-sensitive tests."
        )
    return f"""# iterated-map (version 1)

A recurrent map unrolled by an ONNX `Loop` whose trip count is an input, so one request can
take an arbitrarily long, precisely controllable compute time. meanserve's tests use it to keep
an inference in flight (timeouts, cancellation, queueing, shutdown); it is also a minimal
recurrent-net example.

- **Computation**: `h_0 = x`, `h_(k+1) = tanh(h_k W + b)` for `k < steps`, `y = h_steps`
  (`steps = 0` returns `x`).
- **Data / training**: none. `W` (8x8) and `b` (8) are drawn from seed {SEED} by
  `{TRAINING_COMMAND}` (= `/usr/bin/python3 training/build_test_models.py`); `W` is rescaled to
  spectral norm {MAP_SPECTRAL_NORM}, so the map is a contraction and values stay finite for any `steps`.
- **Architecture**: `Squeeze(steps)` -> `Loop` with body `MatMul`, `Add`, `Tanh`. ONNX opset {OPSET},
  IR version {IR_VERSION}.
- **Interface**: inputs `x` FP32 `[batch, 8]`, `steps` INT64 `[1]`; output `y` FP32 `[batch, 8]`.
  Not batched by the server (`max_batch_size` 0): `steps` is per request.
- **Measured cost**: {timing}
- **Parity**: `parity.json` holds 4 inputs with `steps = {MAP_PARITY_STEPS}` and `y` from an independent
  numpy loop; a correct runtime matches within {PARITY_TOLERANCE}.
- **Intended use and limits**: a serving test fixture, not a product; its output has no meaning.
  Large `steps` values are exactly how a client makes the server burn CPU, so the manifest gives
  `steps` a range of 0 … {MAP_MAX_STEPS} (the server answers 400 outside it) and one request at most
  {MAP_MAX_WORK} rows × steps (413 beyond, pointing to the `onnx.batch-infer` job): about 1-3 s here.
  A running Loop cannot be interrupted from JavaScript, and onnxruntime-node's `session.run` held the
  calling JS thread for the whole run when measured, so the server runs it in an inference pool of its
  own (manifest `pool`), where it cannot hold up the other models.
"""


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def previous_us_per_step(manifest_path, iterated_map_sha):
    """Keep an earlier onnxruntime timing if it was measured on this exact model file.

    The timing comes from onnxruntime-node, which this Python script cannot run, so it is
    passed in once with --iterated-map-us-per-step and carried over on rebuilds.
    """
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    for entry in manifest.get("models", []):
        if entry.get("name") == "iterated-map" and entry.get("sha256") == iterated_map_sha:
            return entry.get("metrics", {}).get("microseconds_per_step_batch1")
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR, help="where to write (default: models/)")
    parser.add_argument(
        "--iterated-map-us-per-step",
        type=float,
        default=None,
        help="onnxruntime microseconds per Loop step at batch 1 to record (default: keep the manifest's value)",
    )
    args = parser.parse_args()
    out_dir = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"

    # One generator, consumed in a fixed order, makes every output a function of SEED alone.
    rng = np.random.default_rng(SEED)
    spiral = build_spiral_mlp(rng, out_dir)

    iterated = build_iterated_map(rng, out_dir)
    us_per_step = args.iterated_map_us_per_step
    if us_per_step is None:
        us_per_step = previous_us_per_step(manifest_path, iterated["sha256"])
    iterated["metrics"]["microseconds_per_step_batch1"] = us_per_step
    (out_dir / "iterated-map" / "CARD.md").write_text(map_card(us_per_step))

    # Replace only these two entries: the manifest also lists models built by other scripts.
    manifest_update.upsert_entries([spiral, iterated], manifest_path)
    for entry in (spiral, iterated):
        print(f"{entry['file']}  sha256 {entry['sha256']}")
    print(f"wrote {manifest_path}")


if __name__ == "__main__":
    main()
