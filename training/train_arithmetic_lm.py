"""Trains one of the arithmetic language models on ground-truth scratch-pad traces.

  teacher   4 layers, width 128, GELU; problems of 1-5 digits from the train split
  proxy     2 layers, width 96, GELU; 1-2-digit problems only (the defender's guess of a student)
  attacker  3 layers, width 160, 5 heads, ReLU; 1-2-digit problems only (a different architecture,
            distilled later on teacher traces by antidistill_experiment.py)
  proxy-small, proxy-large
            the proxy's size ablation (docs/antidistillation.md): 1 layer of width 48, and 3 layers of width
            160 with 5 heads (the attacker's size, GELU), trained like the proxy

Checkpoints to training/checkpoints/arithmetic-<role>.pt every 100 iterations; rerunning resumes.
  /usr/bin/python3 training/train_arithmetic_lm.py --role teacher
"""

import argparse
import json
import math
import random
import time

import torch

import arithmetic_task as task
from manifest_update import REPO_ROOT
from tiny_gpt import GPTConfig, TinyGPT, greedy_complete

CHECKPOINTS = REPO_ROOT / "training" / "checkpoints"

ROLES = {
    "teacher": dict(layers=4, width=128, heads=4, activation="gelu", digits=(1, 5), split="train", iterations=1600),
    "proxy": dict(layers=2, width=96, heads=4, activation="gelu", digits=(1, 2), split=None, iterations=500),
    "attacker": dict(layers=3, width=160, heads=5, activation="relu", digits=(1, 2), split=None, iterations=500),
    "proxy-small": dict(layers=1, width=48, heads=4, activation="gelu", digits=(1, 2), split=None, iterations=500),
    "proxy-large": dict(layers=3, width=160, heads=5, activation="gelu", digits=(1, 2), split=None, iterations=500),
}
BATCH = 128
LEARNING_RATE = 1e-3
WARMUP = 50


def model_for(role):
    spec = ROLES[role]
    config = GPTConfig(
        vocab_size=task.VOCAB_SIZE,
        context=task.CONTEXT,
        layers=spec["layers"],
        width=spec["width"],
        heads=spec["heads"],
        activation=spec["activation"],
    )
    return TinyGPT(config)


def checkpoint_path(role):
    return CHECKPOINTS / f"arithmetic-{role}.pt"


def load_trained(role):
    model = model_for(role)
    state = torch.load(checkpoint_path(role))
    model.load_state_dict(state["model"])
    model.eval()
    return model


def completion_loss(model, inputs, targets):
    logits = model.logits(inputs)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def training_step(model, optimizer, inputs, targets):
    """One AdamW step on the completion-only loss, gradients clipped to norm 1; returns the loss."""
    model.train()
    loss = completion_loss(model, inputs, targets)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss


def accuracy(model, problems, temperature=0.0, seed=0):
    """Exact-answer accuracy of completions of the problems' prompts (batched by prompt length)."""
    generator = torch.Generator().manual_seed(seed)
    by_length = {}
    for problem in problems:
        by_length.setdefault(len(task.prompt_of(*problem)), []).append(problem)
    correct = 0
    for group in by_length.values():
        prompts = [[task.BOS, *task.encode(task.prompt_of(*p))] for p in group]
        completions = greedy_complete(model, prompts, task.CONTEXT, task.EOS, temperature, generator)
        for problem, ids in zip(group, completions):
            correct += task.graded_answer(task.decode(ids)) == task.answer_of(*problem)
    return correct / len(problems)


def learning_rate(iteration, total):
    if iteration < WARMUP:
        return LEARNING_RATE * (iteration + 1) / WARMUP
    progress = (iteration - WARMUP) / max(1, total - WARMUP)
    return LEARNING_RATE * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(role, iterations, seed):
    spec = ROLES[role]
    torch.manual_seed(seed)
    model = model_for(role)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    path = checkpoint_path(role)
    start, seconds, log = 0, 0.0, []
    if path.exists():
        state = torch.load(path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, seconds, log = state["iteration"], state["seconds"], state["log"]
        print(f"resuming {role} at iteration {start}")
    rng = random.Random(seed * 1_000_003 + start)
    low, high = spec["digits"]
    evaluation = task.sample_problems(seed + 99, 300, "test" if role == "teacher" else None, max(low, 3), 5)
    started = time.perf_counter()
    for iteration in range(start, iterations):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(iteration, iterations)
        problems = []
        while len(problems) < BATCH:
            problem = task.sample_problem(rng, low, high)
            if spec["split"] is None or task.split_of(*problem) == spec["split"]:
                problems.append(problem)
        inputs, targets = task.training_batch([(task.prompt_of(*p), task.completion_of(*p)) for p in problems])
        loss = training_step(model, optimizer, inputs, targets)
        done = iteration + 1
        if done % 100 == 0 or done == iterations:
            elapsed = seconds + time.perf_counter() - started
            entry = {"iteration": done, "loss": round(loss.item(), 5), "seconds": round(elapsed, 1)}
            if done % 400 == 0 or done == iterations:
                entry["accuracy_3to5_digits"] = accuracy(model, evaluation)
            log.append(entry)
            print(json.dumps(entry), flush=True)
            CHECKPOINTS.mkdir(parents=True, exist_ok=True)
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "config": model.config.as_dict(),
                    "iteration": done,
                    "seconds": elapsed,
                    "log": log,
                    "seed": seed,
                },
                path,
            )
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=sorted(ROLES), required=True)
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train(args.role, args.iterations or ROLES[args.role]["iterations"], args.seed)


if __name__ == "__main__":
    main()
