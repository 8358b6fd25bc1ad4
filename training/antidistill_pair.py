"""A second proxy pair for the teacher, for the experiment's controls and ablations (docs/antidistillation.md):
builds θ ± εg of a trained model (g: its gradient on teacher traces of holdout problems, as the served
proxy's g) into a copy of the models directory, for a second server to serve. Never written into models/:
these pairs are an experiment's, not models to serve.

  --role attacker      the control for the proxy-student mismatch: the attacker itself as the proxy
                       (pair `arithmetic-attacker-oracle`, models arithmetic-oracle-plus/-minus)
  --role proxy-small   the proxy's size ablation: smaller and larger proxies than the served one
  --role proxy-large   (pairs `arithmetic-proxy-small`, `arithmetic-proxy-large`)

Each run adds its pair to --out (a copy of models/ made by the first run), so one server serves them all.
Its tilt size (the mean per-position std of Δ̂ on 200 train-split traces, measured as the diagnostics
measure the served proxy's) goes to training/results/antidistillation/<role>-gradient.json (the attacker's:
oracle-gradient.json), from which antidistill_experiment.py sets λ for an equal tilt in nats.

  npm start &                                                       # the served teacher, for traces
  /usr/bin/python3 training/antidistill_pair.py --role proxy-small --out /tmp/pair-models
  MODELS_DIR=/tmp/pair-models PORT=8081 npm start &
  /usr/bin/python3 training/antidistill_experiment.py --server http://127.0.0.1:8081 --tag retrained-attacker \\
      --only proxy-small-0.65nats,...
"""

import argparse
import json
import shutil
from pathlib import Path

import torch

from antidistill_diagnostics import shifted, teacher_pairs, tilts
from antidistill_experiment import pair_scales_path
import export_batched_decoder
from export_arithmetic_lm import EPSILON, export, io_specs, proxy_gradient
from manifest_update import MODELS_DIR, sha256_of, write_json
from train_arithmetic_lm import load_trained

SEED = 3141
# role → (pair name, model name prefix, what the pair is)
PAIRS = {
    "attacker": ("arithmetic-attacker-oracle", "arithmetic-oracle", "The attacker student"),
    "proxy-small": ("arithmetic-proxy-small", "arithmetic-proxy-small", "A 1-layer width-48 proxy"),
    "proxy-large": ("arithmetic-proxy-large", "arithmetic-proxy-large", "A 3-layer width-160 proxy"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--role", choices=sorted(PAIRS), default="attacker")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pair, prefix, description = PAIRS[args.role]
    holdout = teacher_pairs(args.server, "holdout", 2000, 1, SEED)
    trained = load_trained(args.role)
    gradient = proxy_gradient(trained, holdout)
    evaluated = teacher_pairs(args.server, "train", 200, 3, SEED + 1)
    delta = tilts(args.role, gradient, evaluated)
    if not args.out.exists():
        shutil.copytree(MODELS_DIR, args.out)
    manifest = json.loads((args.out / "manifest.json").read_text())
    entries = [e for e in manifest["models"] if not e["name"].startswith(f"{prefix}-")]
    inputs, outputs = io_specs(trained.config)
    c = trained.config
    for sign, suffix in ((1, "plus"), (-1, "minus")):
        name = f"{prefix}-{suffix}"
        path = args.out / name / "model.onnx"
        model = shifted(args.role, gradient, sign * EPSILON)
        export(model, path)
        decoder = args.out / name / "decode.onnx"
        export_batched_decoder.export(model, decoder)
        entries.append(
            {
                "name": name,
                "version": "1",
                "task": "text-generation",
                "description": f"{description} at θ {'+' if sign > 0 else '−'} εg (an experiment's control).",
                "file": f"{name}/model.onnx",
                "sha256": sha256_of(path),
                "max_batch_size": 0,
                "inputs": inputs,
                "outputs": outputs,
                "work": {"max": 4096, "rows": "input_ids"},
                "metrics": {"epsilon": EPSILON},
                "training": {"command": f"training/antidistill_pair.py --role {args.role}", "seed": SEED},
                "language_model": {
                    "vocabulary": "arithmetic-task/spec.json",
                    "cache": {"layers": c.layers, "heads": c.heads, "head_dim": c.head_dim},
                    "decoder": {"file": f"{name}/decode.onnx", "sha256": sha256_of(decoder), "context": c.context},
                },
            }
        )
    manifest["models"] = entries
    teacher = next(e for e in entries if e["name"] == "arithmetic-teacher")
    proxies = [p for p in teacher["language_model"]["proxies"] if p["name"] != pair]
    proxies.append({"name": pair, "epsilon": EPSILON, "plus": f"{prefix}-plus", "minus": f"{prefix}-minus"})
    teacher["language_model"]["proxies"] = proxies
    write_json(args.out / "manifest.json", manifest)
    report = {
        "pair": pair,
        "role": args.role,
        "epsilon": EPSILON,
        "holdout_traces": len(holdout),
        "parameters": sum(p.numel() for p in trained.parameters()),
        "delta_std_mean": delta.std(dim=1).mean().item(),
    }
    write_json(pair_scales_path(args.role), report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
