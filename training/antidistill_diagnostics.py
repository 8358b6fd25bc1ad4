"""Why the distilled student is hurt little: diagnostics of the proxy gradient g behind the tilt
(Savani et al. 2025, Δ̂(x) = [log p(x; θ_P + εg) − log p(x; θ_P − εg)] / 2ε in logit form).

  npm start &                                            # the server with the exported models
  /usr/bin/python3 training/antidistill_diagnostics.py    # needs the proxy and attacker checkpoints

1. Too few traces behind g? g from two disjoint halves of the holdout traces: the cosine between them and
   the per-position correlation of the tilts Δ̂ they give.
2. Does the proxy stand for the student? The attacker's own gradient g_S on the same traces gives the tilt
   that would aim at the attacker itself, Δ̂_S; its per-position correlation with the proxy's Δ̂ says how
   much of the proxy's aim lands on the student that is actually distilled.
Both tilts are compared on teacher traces of train-split problems, the distillation data. Teacher traces
come from the running service's antidistill.traces job (the served teacher at τ = 1). Writes
training/results/antidistillation/diagnostics.json.
"""

import argparse
import json

import torch

import arithmetic_task as task
from antidistill_experiment import run_job
from export_arithmetic_lm import EPSILON, proxy_gradient
from manifest_update import REPO_ROOT, write_json
from train_arithmetic_lm import load_trained

OUT = REPO_ROOT / "training" / "results" / "antidistillation" / "diagnostics.json"
HOLDOUT = 2000
EVALUATED = 200
SEED = 2718


def teacher_pairs(server, split, count, min_digits, seed):
    _, traces = run_job(
        server,
        {"problems": {"split": split, "count": count, "min_digits": min_digits, "max_digits": 5}, "temperature": 1, "top_p": 1},
        seed,
    )
    return [(t["prompt"], t["completion"]) for t in traces]


def shifted(role, gradient, scale):
    model = load_trained(role)
    with torch.no_grad():
        for parameter, g in zip(model.parameters(), gradient):
            parameter += scale * g
    model.eval()
    return model


def cosine(a, b):
    dot = sum((x.double() * y.double()).sum() for x, y in zip(a, b))
    norm_a = torch.sqrt(sum((x.double() ** 2).sum() for x in a))
    norm_b = torch.sqrt(sum((y.double() ** 2).sum() for y in b))
    return (dot / (norm_a * norm_b)).item()


@torch.no_grad()
def tilts(role, gradient, pairs):
    """Δ̂ at every completion position of every trace, over the tokens a completion can hold: [positions, V']."""
    plus, minus = shifted(role, gradient, EPSILON), shifted(role, gradient, -EPSILON)
    keep = [t for t in range(task.VOCAB_SIZE) if t not in (task.PAD, task.BOS)]
    rows = []
    for prompt, completion in pairs:
        ids = torch.tensor([[task.BOS, *task.encode(prompt + completion)]])
        start = len(prompt)
        delta = (plus.logits(ids) - minus.logits(ids))[0, start:] / (2 * EPSILON)
        rows.append(delta[:, keep])
    return torch.cat(rows)


def correlation(a, b):
    """Mean over positions of the Pearson correlation across the vocabulary (softmax ignores the mean)."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    r = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp(min=1e-12)
    return {"mean": r.mean().item(), "median": r.median().item(), "positions": r.numel()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    holdout = teacher_pairs(args.server, "holdout", HOLDOUT, 1, SEED)
    evaluated = teacher_pairs(args.server, "train", EVALUATED, 3, SEED + 1)
    proxy, attacker = load_trained("proxy"), load_trained("attacker")
    half = len(holdout) // 2
    g_first, g_second = proxy_gradient(proxy, holdout[:half]), proxy_gradient(proxy, holdout[half:])
    g_all = proxy_gradient(proxy, holdout)
    g_student = proxy_gradient(attacker, holdout)
    tilt_first, tilt_second = tilts("proxy", g_first, evaluated), tilts("proxy", g_second, evaluated)
    tilt_proxy = tilts("proxy", g_all, evaluated)
    tilt_student = tilts("attacker", g_student, evaluated)
    report = {
        "holdout_traces": len(holdout),
        "evaluated_traces": len(evaluated),
        "epsilon": EPSILON,
        "estimation": {
            "gradient_cosine_between_halves": cosine(g_first, g_second),
            "gradient_cosine_half_to_all": cosine(g_first, g_all),
            "tilt_correlation_between_halves": correlation(tilt_first, tilt_second),
        },
        "proxy_vs_student": {
            "tilt_correlation": correlation(tilt_proxy, tilt_student),
            "tilt_std": {"proxy": tilt_proxy.std(dim=1).mean().item(), "student": tilt_student.std(dim=1).mean().item()},
        },
    }
    write_json(OUT, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
