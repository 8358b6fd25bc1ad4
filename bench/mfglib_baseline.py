"""MFGLib baseline for bench/mfg.ts: iterations per second of MFGLib's own solvers (float64, one torch
thread) on the games and algorithms meanserve also runs, and exploitability evaluations per second.

Our code, calling MFGLib's public API from a source tree given on the command line (it is not vendored):
    /usr/bin/python3 bench/mfglib_baseline.py /path/to/MFGLib 0.5
MFGLib v0.3.0 runs on Debian's python3-torch 1.13 with python3-rich and python3-optuna installed; osqp
(used only by OccupationMeasureInclusion) has no Debian package, so an empty module stands in for it.
fixed_point is FictitiousPlay(alpha=1) there; MFGLib has no Boltzmann policy iteration or crowd_modelling.
"""
import json
import sys
import time
import types

sys.path.insert(0, sys.argv[1])
sys.modules.setdefault("osqp", types.ModuleType("osqp"))
budget = float(sys.argv[2])

import torch  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

import mfglib.alg as alg  # noqa: E402  (before mfglib.scoring: circular import otherwise)
from mfglib.env import Environment  # noqa: E402
from mfglib.scoring import exploitability_score  # noqa: E402

GAMES = {
    "left_right": Environment.left_right,
    "rock_paper_scissors": Environment.rock_paper_scissors,
    "susceptible_infected": Environment.susceptible_infected,
    "beach_bar": Environment.beach_bar,
    "linear_quadratic": Environment.linear_quadratic,
    "conservative_treasure_hunting": Environment.conservative_treasure_hunting,
    "equilibrium_price": Environment.equilibrium_price,
    "building_evacuation": Environment.building_evacuation,
}
ALGORITHMS = {
    "online_mirror_descent": lambda: alg.OnlineMirrorDescent(alpha=1.0),
    "fictitious_play": lambda: alg.FictitiousPlay(alpha=0.0),
    "prior_descent": lambda: alg.PriorDescent(eta=1.0),
    "fixed_point": lambda: alg.FictitiousPlay(alpha=1.0),
}


def per_second(work):
    """Runs work(n) with growing n until it takes a quarter of the budget, then times the budget."""
    n = 1
    while True:
        started = time.perf_counter()
        work(n)
        elapsed = time.perf_counter() - started
        if elapsed > budget / 4 or n >= 4096:
            runs = max(1, round(n * budget / elapsed))
            started = time.perf_counter()
            work(runs)
            return runs / (time.perf_counter() - started)
        n *= 4


results = {}
for name, make in GAMES.items():
    env = make()
    uniform = torch.ones((env.T + 1,) + env.S + env.A) / env.n_actions
    row = {"evaluation": per_second(lambda n: [exploitability_score(env, uniform) for _ in range(n)])}
    for label, build in ALGORITHMS.items():
        try:
            solver = build()
            # solve() scores π_0 too: n iterations cost n + 1 evaluations, as in meanserve's loop.
            row[label] = per_second(lambda n: solver.solve(env, max_iter=n, atol=None, rtol=None))
        except Exception as error:  # MFGLib's FictitiousPlay fails on equilibrium_price's 2-D actions
            print(f"{name} {label}: {error}", file=sys.stderr)
    results[name] = row
print(json.dumps(results))
