"""From the trained teacher and proxy to the served models: the proxy gradient g, the perturbed pair
θ_P ± εg, a check of the finite difference against the exact directional derivative, ONNX export with
a key/value cache, parity vectors, measured accuracy, model cards and manifest entries.

  /usr/bin/python3 training/export_arithmetic_lm.py       (after train_arithmetic_lm.py --role teacher/proxy)

g (as the official save_grad.py): the mean over the teacher's own traces on holdout-split problems
(sampled at τ = 1) of the gradient of the proxy's completion-only cross-entropy, each trace's loss the
mean over its completion tokens.
"""

import argparse
import json
import time

import numpy as np
import onnx
import torch

import arithmetic_task as task
from manifest_update import MODELS_DIR, REPO_ROOT, sha256_of, upsert_entries, write_json
from tiny_gpt import greedy_complete
from train_arithmetic_lm import accuracy, checkpoint_path, load_trained

EPSILON = 1e-2
OPSET = 17
PARITY_TOLERANCE = 1e-4
HOLDOUT_TRACES = 2000
RESULTS = REPO_ROOT / "training" / "results" / "antidistillation"
PARITY_PROMPTS = ["Q:4817+2956=", "Q:90719*8=", "Q:5+77="]
GREEDY_PROMPTS = ["Q:4817+2956=", "Q:90719*8=", "Q:123+4567=", "Q:31415*9=", "Q:7+5="]


def teacher_traces(teacher, problems, seed):
    """Teacher completions at τ = 1, batched by prompt length: (prompt, completion) pairs."""
    generator = torch.Generator().manual_seed(seed)
    by_length = {}
    for problem in problems:
        by_length.setdefault(len(task.prompt_of(*problem)), []).append(task.prompt_of(*problem))
    pairs = []
    for prompts in by_length.values():
        ids = [[task.BOS, *task.encode(p)] for p in prompts]
        for prompt, completion in zip(prompts, greedy_complete(teacher, ids, task.CONTEXT, task.EOS, 1.0, generator)):
            pairs.append((prompt, task.decode(completion)))
    return pairs


def proxy_gradient(proxy, pairs, batch=64):
    """Mean over traces of ∇θ (mean completion-token cross-entropy of the trace)."""
    parameters = list(proxy.parameters())
    total = [torch.zeros_like(p) for p in parameters]
    proxy.eval()
    for start in range(0, len(pairs), batch):
        inputs, targets = task.training_batch(pairs[start : start + batch])
        logits = proxy.logits(inputs)
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
        ).reshape(targets.shape)
        counted = (targets != -100).float()
        per_trace = (losses * counted).sum(1) / counted.sum(1)
        grads = torch.autograd.grad(per_trace.sum(), parameters)
        for accumulated, grad in zip(total, grads):
            accumulated += grad
    return [g / len(pairs) for g in total]


def perturbed(gradient, scale):
    """A fresh copy of the trained proxy at θ_P + scale·g."""
    model = load_trained("proxy")
    with torch.no_grad():
        for parameter, g in zip(model.parameters(), gradient):
            parameter += scale * g
    model.eval()
    return model


def log_probs_at(model, ids, position):
    return torch.log_softmax(model.logits(ids)[0, position], dim=-1)


def directional_check(proxy, gradient, pairs, positions=6):
    """Exact Δ(x) = ⟨g, ∇θ log p(x | prefix)⟩ for every token x (one backward pass each) against the
    central finite difference [log p(x; θ+εg) − log p(x; θ−εg)] / 2ε, at a few positions of a trace."""
    prompt, completion = pairs[0]
    ids = torch.tensor([[task.BOS, *task.encode(prompt + completion)]])
    prompt_length = len(prompt) + 1
    chosen = np.linspace(prompt_length - 1, ids.shape[1] - 1, positions).astype(int).tolist()
    parameters = list(proxy.parameters())
    rows = []
    for position in chosen:
        exact = torch.zeros(task.VOCAB_SIZE, dtype=torch.float64)
        for token in range(task.VOCAB_SIZE):
            grads = torch.autograd.grad(log_probs_at(proxy, ids, position)[token], parameters)
            exact[token] = sum((g.double() * d.double()).sum() for g, d in zip(gradient, grads))
        row = {"position": position, "exact_norm": exact.norm().item(), "relative_error": {}}
        for epsilon in (1e-3, 1e-2, 1e-1):
            with torch.no_grad():
                plus = log_probs_at(perturbed(gradient, epsilon), ids, position).double()
                minus = log_probs_at(perturbed(gradient, -epsilon), ids, position).double()
            finite = (plus - minus) / (2 * epsilon)
            row["relative_error"][str(epsilon)] = ((finite - exact).norm() / exact.norm()).item()
        rows.append(row)
    return rows


@torch.no_grad()
def tilt_scales(teacher, plus, minus, pairs, count=200):
    """Per-position standard deviation over the vocabulary of Δ̂ (logit form) and of the teacher's
    log-probabilities, averaged over completion positions: how large λ must be to matter."""
    delta_std, teacher_std = [], []
    for prompt, completion in pairs[:count]:
        ids = torch.tensor([[task.BOS, *task.encode(prompt + completion)]])
        start = len(prompt)
        delta = (plus.logits(ids) - minus.logits(ids))[0, start:] / (2 * EPSILON)
        log_p = torch.log_softmax(teacher.logits(ids)[0, start:], dim=-1).clamp(min=-30)
        delta_std.append(delta.std(dim=-1))
        teacher_std.append(log_p.std(dim=-1))
    return {
        "delta_std_mean": torch.cat(delta_std).mean().item(),
        "delta_std_median": torch.cat(delta_std).median().item(),
        "teacher_logprob_std_mean": torch.cat(teacher_std).mean().item(),
    }


class Exportable(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, past):
        return self.model(input_ids, past)


def export(model, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    c = model.config
    ids = torch.tensor([[task.BOS, 3, 4]])
    past = torch.randn(c.layers, 2, 1, c.heads, 5, c.head_dim)
    torch.onnx.export(
        Exportable(model).eval(),
        (ids, past),
        str(path),
        input_names=["input_ids", "past"],
        output_names=["logits", "present"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "steps"},
            "past": {2: "batch", 4: "cached"},
            "logits": {0: "batch", 1: "steps"},
            "present": {2: "batch", 4: "positions"},
        },
        opset_version=OPSET,
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


@torch.no_grad()
def parity(model):
    """Per prompt: the logits of the last position after the prompt and after each of 4 greedy tokens,
    fed one at a time through the cache."""
    cases = []
    for prompt in PARITY_PROMPTS:
        ids = torch.tensor([[task.BOS, *task.encode(prompt)]])
        logits, past = model(ids, model.empty_cache(1))
        steps = [{"ids": ids[0].tolist(), "logits": logits[0, -1].tolist()}]
        for _ in range(4):
            token = int(logits[0, -1].argmax())
            logits, past = model(torch.tensor([[token]]), past)
            steps.append({"ids": [token], "logits": logits[0, -1].tolist()})
        cases.append({"prompt": prompt, "steps": steps})
    return {"tolerance": PARITY_TOLERANCE, "cases": cases}


@torch.no_grad()
def greedy_strings(model):
    out = {}
    for prompt in GREEDY_PROMPTS:
        ids = [[task.BOS, *task.encode(prompt)]]
        out[prompt] = task.decode(greedy_complete(model, ids, task.CONTEXT - len(ids[0]), task.EOS)[0])
    return out


def io_specs(config):
    cache = [config.layers, 2, -1, config.heads, -1, config.head_dim]
    return (
        [
            {"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]},
            {"name": "past", "datatype": "FP32", "shape": cache},
        ],
        [
            {"name": "logits", "datatype": "FP32", "shape": [-1, -1, task.VOCAB_SIZE]},
            {"name": "present", "datatype": "FP32", "shape": cache},
        ],
    )


def entry(name, description, model, metrics, command, seed, extra):
    inputs, outputs = io_specs(model.config)
    c = model.config
    return {
        "name": name,
        "version": "1",
        "task": "text-generation",
        "description": description,
        "file": f"{name}/model.onnx",
        "sha256": sha256_of(MODELS_DIR / name / "model.onnx"),
        "max_batch_size": 0,
        "inputs": inputs,
        "outputs": outputs,
        # Tokens (batch × sequence) one inference request may carry.
        "work": {"max": 4096, "rows": "input_ids"},
        "metrics": metrics,
        "training": {"command": command, "seed": seed, **extra},
        "card": f"{name}/CARD.md",
        "language_model": {
            "vocabulary": "arithmetic-task/spec.json",
            "cache": {"layers": c.layers, "heads": c.heads, "head_dim": c.head_dim},
        },
    }


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def write_card(name, title, lines):
    (MODELS_DIR / name / "CARD.md").write_text(f"# {name}\n\n{title}\n\n" + "\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    teacher, proxy = load_trained("teacher"), load_trained("proxy")
    teacher_state = torch.load(checkpoint_path("teacher"))
    proxy_state = torch.load(checkpoint_path("proxy"))

    holdout = task.sample_problems(args.seed + 1, HOLDOUT_TRACES, "holdout", 1, 5)
    pairs = teacher_traces(teacher, holdout, args.seed + 2)
    holdout_accuracy = sum(
        task.graded_answer(c) == task.answer_of(*task.parse_prompt(p)) for p, c in pairs
    ) / len(pairs)
    gradient = proxy_gradient(proxy, pairs)
    gradient_norm = torch.sqrt(sum((g**2).sum() for g in gradient)).item()
    parameter_norm = torch.sqrt(sum((p**2).sum() for p in proxy.parameters())).item()
    plus, minus = perturbed(gradient, EPSILON), perturbed(gradient, -EPSILON)
    check = directional_check(proxy, gradient, pairs)
    scales = tilt_scales(teacher, plus, minus, pairs)

    test = task.sample_problems(args.seed + 3, 1000, "test", 3, 5)
    small = task.sample_problems(args.seed + 4, 500, None, 1, 2)
    measured = {
        "teacher_greedy_test_accuracy": accuracy(teacher, test),
        "teacher_sampled_t1_test_accuracy": accuracy(teacher, test, temperature=1.0, seed=5),
        "teacher_holdout_t1_trace_accuracy": holdout_accuracy,
        "proxy_greedy_test_accuracy": accuracy(proxy, test),
        "proxy_greedy_1to2_digit_accuracy": accuracy(proxy, small),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "epsilon": EPSILON,
        "holdout_traces": len(pairs),
        "gradient_rms": gradient_norm / parameter_count(proxy) ** 0.5,
        "parameter_rms": parameter_norm / parameter_count(proxy) ** 0.5,
        "gradient_norm": gradient_norm,
        "finite_difference_vs_exact": check,
        "tilt_scales": scales,
        **measured,
    }
    write_json(RESULTS / "proxy-gradient.json", report)
    print(json.dumps(report, indent=2))

    models = {
        "arithmetic-teacher": teacher,
        "arithmetic-proxy-plus": plus,
        "arithmetic-proxy-minus": minus,
    }
    for name, model in models.items():
        export(model, MODELS_DIR / name / "model.onnx")
        write_json(MODELS_DIR / name / "parity.json", parity(model))
    write_json(MODELS_DIR / "arithmetic-teacher" / "greedy.json", greedy_strings(teacher))

    command = "npm run train:arithmetic"
    test_metrics = {
        "test_problems": len(test),
        "test_digits": "3-5 (longer operand)",
        "greedy_test_accuracy": measured["teacher_greedy_test_accuracy"],
        "sampled_t1_test_accuracy": measured["teacher_sampled_t1_test_accuracy"],
        "parameters": parameter_count(teacher),
    }
    teacher_entry = entry(
        "arithmetic-teacher",
        "Character-level GPT (4 layers, width 128) that adds numbers of up to 5 digits and multiplies them "
        "by one digit with a scratch pad; the antidistillation teacher.",
        teacher,
        test_metrics,
        command,
        args.seed,
        {"iterations": teacher_state["iteration"], "seconds": round(teacher_state["seconds"], 1)},
    )
    teacher_entry["language_model"]["proxies"] = [
        {"name": "arithmetic-proxy", "epsilon": EPSILON, "plus": "arithmetic-proxy-plus", "minus": "arithmetic-proxy-minus"}
    ]
    proxy_metrics = {
        "greedy_test_accuracy": measured["proxy_greedy_test_accuracy"],
        "greedy_1to2_digit_accuracy": measured["proxy_greedy_1to2_digit_accuracy"],
        "parameters": parameter_count(proxy),
        "epsilon": EPSILON,
        "gradient_rms": report["gradient_rms"],
    }
    proxy_training = {
        "iterations": proxy_state["iteration"],
        "seconds": round(proxy_state["seconds"], 1),
        "gradient": f"mean over {len(pairs)} teacher traces (τ = 1) of holdout problems",
    }
    entries = [teacher_entry]
    for sign, name in ((1, "arithmetic-proxy-plus"), (-1, "arithmetic-proxy-minus")):
        entries.append(
            entry(
                name,
                f"The proxy student (GPT, 2 layers, width 96, trained on 1-2-digit problems) at θ_P {'+' if sign > 0 else '−'} εg, "
                "g the gradient of its loss on teacher traces; one half of the antidistillation finite difference.",
                plus if sign > 0 else minus,
                proxy_metrics,
                command,
                args.seed,
                proxy_training,
            )
        )
    upsert_entries(entries)

    max_error = max(max(row["relative_error"].values()) for row in check)
    error_at_eps = max(row["relative_error"][str(EPSILON)] for row in check)
    common = [
        "Task, vocabulary and trace format: `models/arithmetic-task/spec.json`; problems split by operand pair.",
        f"Training command: `{command}` (seed {args.seed}); see training/README.md.",
        "Inputs `input_ids` [1, T] and `past` [layers, 2, 1, heads, P, head_dim]; outputs `logits` [1, T, 20] and",
        "`present` (the cache with the T new positions). `parity.json` holds PyTorch logits for step-by-step decoding.",
    ]
    write_card(
        "arithmetic-teacher",
        f"Teacher of the antidistillation experiment ({parameter_count(teacher):,} parameters, "
        f"{teacher_state['iteration']} iterations of batch 128, {teacher_state['seconds'] / 60:.1f} min on 2 CPU cores).",
        common
        + [
            "",
            f"- greedy exact-answer accuracy on {len(test)} test problems (3-5 digits): {measured['teacher_greedy_test_accuracy']:.3f}",
            f"- sampled at τ = 1: {measured['teacher_sampled_t1_test_accuracy']:.3f}",
            "- `greedy.json`: greedy completions of fixed prompts (the API test expects exactly these).",
        ],
    )
    for name in ("arithmetic-proxy-plus", "arithmetic-proxy-minus"):
        write_card(
            name,
            f"Proxy student ({parameter_count(proxy):,} parameters) perturbed by {'+' if 'plus' in name else '−'}εg, ε = {EPSILON}.",
            common
            + [
                "",
                f"- g: {proxy_training['gradient']}; RMS {report['gradient_rms']:.3g} per parameter (parameters: {report['parameter_rms']:.3g}).",
                f"- finite difference vs exact directional derivative, {len(check)} positions: relative error ≤ {error_at_eps:.2e} at ε = {EPSILON}"
                f" (≤ {max_error:.2e} over ε ∈ 1e-3…1e-1).",
                f"- the unperturbed proxy: greedy accuracy {measured['proxy_greedy_1to2_digit_accuracy']:.3f} on 1-2-digit problems, "
                f"{measured['proxy_greedy_test_accuracy']:.3f} on the 3-5-digit test problems.",
            ],
        )
    print(f"exported in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
