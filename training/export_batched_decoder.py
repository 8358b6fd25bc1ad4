"""The batched decoding graph of each served language model (`decode.onnx` beside `model.onnx`), for the
server's continuous batching: every running sequence steps in one forward pass over a cache slot of the
whole context, whatever its length.

  /usr/bin/python3 training/export_batched_decoder.py

decode(input_ids [B, T], positions [B], key0, value0, key1, … [B, H, C, Dh]) → (logits [B, V],
       new_kv [B, L, 2, H, T, Dh])

Row b's new tokens sit at positions positions[b] .. positions[b] + T − 1; its cache slot (one row of each
key<l>/value<l> input, C = the context) holds the keys and values of positions 0 .. positions[b] − 1, and
what lies beyond is masked, so a slot is never cleared. The new tokens attend over the slot's C keys and
their own T (causally); the caller writes `new_kv` into the slot. Only the last position's logits come
back. One input per layer and kind, so the server feeds the rows of its cache buffers as they are (a
single cache tensor would be split, that is copied, inside the graph at every step). A row's result
depends only on that row: the batch may hold any mix of sequences (test/continuous-batching.test.ts).

The weights are read from the served model.onnx itself (the exporter of export_arithmetic_lm.py names the
norms, embeddings and biases after the PyTorch parameters and stores each Linear weight transposed as a
MatMul initializer, in module order), and the rebuilt PyTorch model must reproduce the model's own
parity.json before the new graph is written; test/lm-parity.test.ts checks the new graph against
the same vectors through onnxruntime-node.
"""

import argparse
import json
import math

import onnx
import torch
from onnx import numpy_helper

import arithmetic_task as task
from manifest_update import MODELS_DIR, read_manifest, sha256_of, write_json, MANIFEST_PATH
from tiny_gpt import GPTConfig, TinyGPT

OPSET = 17
MODELS = ("arithmetic-teacher", "arithmetic-proxy-plus", "arithmetic-proxy-minus")


def rebuilt(name):
    """The PyTorch model whose export is models/<name>/model.onnx, from that file's initializers."""
    graph = onnx.load(str(MODELS_DIR / name / "model.onnx")).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    cache = next(entry for entry in read_manifest()["models"] if entry["name"] == name)["language_model"]["cache"]
    width = cache["heads"] * cache["head_dim"]
    layers = cache["layers"]
    mlp_width = weights["model.blocks.0.mlp.0.bias"].shape[0]
    config = GPTConfig(
        vocab_size=task.VOCAB_SIZE, context=task.CONTEXT, layers=layers, width=width, heads=cache["heads"]
    )
    assert mlp_width == 4 * width, (name, mlp_width, width)
    model = TinyGPT(config)
    # MatMul weights in the order the graph uses them: per block qkv, proj, mlp.0, mlp.2; then the head.
    matmul_inputs = [node.input[1] for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights]
    linear_names = [
        f"blocks.{layer}.{part}.weight" for layer in range(layers) for part in ("qkv", "proj", "mlp.0", "mlp.2")
    ] + ["head.weight"]
    assert len(matmul_inputs) == len(linear_names), (name, len(matmul_inputs))
    state = {key.removeprefix("model."): torch.from_numpy(value.copy()) for key, value in weights.items() if key.startswith("model.")}
    for linear, initializer in zip(linear_names, matmul_inputs):
        state[linear] = torch.from_numpy(weights[initializer].T.copy())
    model.load_state_dict(state, strict=True)
    return model.eval()


class BatchedStep(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, positions, *caches):
        m = self.model
        batch, steps = input_ids.shape
        context = caches[0].shape[2]
        position = positions[:, None] + torch.arange(steps)[None, :]  # [B, T]
        x = m.tokens(input_ids) + m.positions(position)
        # Cached key c is visible to every new token when c < positions[b]; the new tokens see each other
        # causally. Masked scores are −inf, so their weights are exactly 0.
        stale = (torch.arange(context)[None, :] >= positions[:, None])[:, None, None, :]  # [B, 1, 1, C]
        later = torch.arange(steps)[None, :] > torch.arange(steps)[:, None]  # [T, T]
        news = []
        for layer, block in enumerate(m.blocks):
            width = x.shape[2]
            q, k, v = block.qkv(block.norm1(x)).split(width, dim=2)
            q, k, v = (t.view(batch, steps, block.heads, block.head_dim).transpose(1, 2) for t in (q, k, v))
            past_k, past_v = caches[2 * layer], caches[2 * layer + 1]
            scale = math.sqrt(block.head_dim)
            old = (q @ past_k.transpose(2, 3) / scale).masked_fill(stale, float("-inf"))
            new = (q @ k.transpose(2, 3) / scale).masked_fill(later, float("-inf"))
            attention = torch.softmax(torch.cat([old, new], dim=3), dim=-1)
            y = attention[..., :context] @ past_v + attention[..., context:] @ v
            y = y.transpose(1, 2).reshape(batch, steps, width)
            x = x + block.proj(y)
            x = x + block.mlp(block.norm2(x))
            news.append(torch.stack([k, v], dim=1))  # [B, 2, H, T, Dh]
        logits = m.head(m.norm(x[:, -1]))
        return logits, torch.stack(news, dim=1)


def parity_cases(name):
    return json.loads((MODELS_DIR / name / "parity.json").read_text())


@torch.no_grad()
def check_rebuilt(model, parity):
    """The rebuilt model through its own cache reproduces parity.json."""
    worst = 0.0
    for case in parity["cases"]:
        past = model.empty_cache(1)
        for step in case["steps"]:
            logits, past = model(torch.tensor([step["ids"]]), past)
            worst = max(worst, float((logits[0, -1] - torch.tensor(step["logits"])).abs().max()))
    assert worst <= parity["tolerance"], worst
    return worst


def cache_names(config):
    return [f"{kind}{layer}" for layer in range(config.layers) for kind in ("key", "value")]


def export(model, path):
    c = model.config
    ids = torch.tensor([[task.BOS, 3, 4], [5, 6, 7]])
    positions = torch.tensor([0, 9])
    caches = [torch.randn(2, c.heads, c.context, c.head_dim) for _ in cache_names(c)]
    torch.onnx.export(
        BatchedStep(model).eval(),
        (ids, positions, *caches),
        str(path),
        input_names=["input_ids", "positions", *cache_names(c)],
        output_names=["logits", "new_kv"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "steps"},
            "positions": {0: "batch"},
            **{name: {0: "batch"} for name in cache_names(c)},
            "logits": {0: "batch"},
            "new_kv": {0: "batch", 4: "steps"},
        },
        opset_version=OPSET,
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    manifest = read_manifest()
    for name in MODELS:
        model = rebuilt(name)
        parity = parity_cases(name)
        rebuilt_error = check_rebuilt(model, parity)
        path = MODELS_DIR / name / "decode.onnx"
        export(model, path)
        print(json.dumps({"name": name, "rebuilt_max_error": rebuilt_error}))
        entry = next(e for e in manifest["models"] if e["name"] == name)
        entry["language_model"]["decoder"] = {
            "file": f"{name}/decode.onnx",
            "sha256": sha256_of(path),
            "context": model.config.context,
        }
    write_json(MANIFEST_PATH, manifest)


if __name__ == "__main__":
    main()
