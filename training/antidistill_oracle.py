"""The control for the proxy-student mismatch (docs/antidistillation.md): antidistillation with the attacker
itself as the proxy. Builds the pair θ_S ± εg_S (g_S: the attacker's gradient on teacher traces of holdout
problems, as the served proxy's g) into a copy of the models directory with a second proxy pair for the
teacher, `arithmetic-attacker-oracle`, for a second server to serve. Never written into models/: the
oracle is an experiment's control, not a model to serve.

  npm start &                                                       # the served teacher, for traces
  /usr/bin/python3 training/antidistill_oracle.py --out /tmp/oracle-models
  MODELS_DIR=/tmp/oracle-models PORT=8081 npm start &
  /usr/bin/python3 training/antidistill_experiment.py --server http://127.0.0.1:8081 --tag oracle-proxy \\
      --only base-t1.0,oracle-0.65nats,...
"""

import argparse
import json
import shutil
from pathlib import Path

import torch

from antidistill_diagnostics import shifted, teacher_pairs, tilts
import export_batched_decoder
from export_arithmetic_lm import EPSILON, export, io_specs, proxy_gradient
from manifest_update import MODELS_DIR, REPO_ROOT, sha256_of, write_json
from train_arithmetic_lm import load_trained

PAIR = "arithmetic-attacker-oracle"
SEED = 3141
OUT_SCALES = REPO_ROOT / "training" / "results" / "antidistillation" / "oracle-gradient.json"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    holdout = teacher_pairs(args.server, "holdout", 2000, 1, SEED)
    attacker = load_trained("attacker")
    gradient = proxy_gradient(attacker, holdout)
    evaluated = teacher_pairs(args.server, "train", 200, 3, SEED + 1)
    delta = tilts("attacker", gradient, evaluated)
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(MODELS_DIR, args.out)
    manifest = json.loads((args.out / "manifest.json").read_text())
    entries = manifest["models"]
    inputs, outputs = io_specs(attacker.config)
    c = attacker.config
    for sign, suffix in ((1, "plus"), (-1, "minus")):
        name = f"arithmetic-oracle-{suffix}"
        path = args.out / name / "model.onnx"
        model = shifted("attacker", gradient, sign * EPSILON)
        export(model, path)
        decoder = args.out / name / "decode.onnx"
        export_batched_decoder.export(model, decoder)
        entries.append(
            {
                "name": name,
                "version": "1",
                "task": "text-generation",
                "description": f"The attacker student at θ_S {'+' if sign > 0 else '−'} εg_S (an experiment's control).",
                "file": f"{name}/model.onnx",
                "sha256": sha256_of(path),
                "max_batch_size": 0,
                "inputs": inputs,
                "outputs": outputs,
                "work": {"max": 4096, "rows": "input_ids"},
                "metrics": {"epsilon": EPSILON},
                "training": {"command": "training/antidistill_oracle.py", "seed": SEED},
                "language_model": {
                    "vocabulary": "arithmetic-task/spec.json",
                    "cache": {"layers": c.layers, "heads": c.heads, "head_dim": c.head_dim},
                    "decoder": {"file": f"{name}/decode.onnx", "sha256": sha256_of(decoder), "context": c.context},
                },
            }
        )
    teacher = next(e for e in entries if e["name"] == "arithmetic-teacher")
    teacher["language_model"]["proxies"].append(
        {"name": PAIR, "epsilon": EPSILON, "plus": "arithmetic-oracle-plus", "minus": "arithmetic-oracle-minus"}
    )
    write_json(args.out / "manifest.json", manifest)
    report = {"pair": PAIR, "epsilon": EPSILON, "holdout_traces": len(holdout), "delta_std_mean": delta.std(dim=1).mean().item()}
    write_json(OUT_SCALES, report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
