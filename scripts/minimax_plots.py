"""Draws the convergence plots of docs/minimax.md from docs/minimax-runs.json (written by
scripts/minimax-plots.ts). Run with Debian's python3, which has matplotlib:
    /usr/bin/python3 scripts/minimax_plots.py
"""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
runs = json.loads((DOCS / "minimax-runs.json").read_text())


def series(run, key, part=None):
    reports = runs[run]["reports"]
    xs = np.array([r["step"] for r in reports], dtype=float)
    source = [r if part is None else r.get(part, r) for r in reports]
    return xs, np.array([s[key] for s in source], dtype=float)


def w1_max(run, part=None):
    xs, mu = series(run, "w1_mu", part)
    _, nu = series(run, "w1_nu", part)
    return xs, np.maximum(mu, nu)


def save(fig, name):
    fig.tight_layout()
    fig.savefig(DOCS / name, dpi=110)
    plt.close(fig)
    print("wrote", DOCS / name)


# 1. The three MFL algorithms on MM1D: NI and W1 per report.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
lines = [
    ("mfl-da", None, "MFL-DA"),
    ("mfl-ag r=1", None, "MFL-AG r=1, averaged"),
    ("mfl-ag r=1", "last_iterate", "MFL-AG r=1, last iterate"),
    ("mfl-ag r=0.5", None, "MFL-AG r=0.5, averaged"),
    ("mfl-abr beta=0.25", None, "MFL-ABR β=0.25"),
]
for run, part, label in lines:
    xs, ni = series(run, "ni", part)
    style = ":" if part == "last_iterate" else "-"
    left.semilogy(xs, np.maximum(ni, 1e-6), style, label=label)
    xs, w1 = w1_max(run, part)
    right.semilogy(xs, w1, style, label=label)
floor = runs["mfl-da"]["ground_truth"]["ni_binned"]
left.axhline(floor, color="grey", ls="--", lw=1, label="NI of the binned grid solution")
sampling = runs["mfl-da"]["w1_sampling_floor"]
right.axhline(max(sampling["mu"], sampling["nu"]), color="grey", ls="--", lw=1, label="W1 of 2000 i.i.d. samples")
right.axhline(0.05, color="black", ls=":", lw=1)
left.set(xlabel="step (h = 0.05)", ylabel="NI error (grid, closed form)", title="MM1D, λ = 0.1, N = 2000: NI")
right.set(xlabel="step (h = 0.05)", ylabel="max(W1(μ, μ*), W1(ν, ν*))", title="W1 to the grid equilibrium")
left.legend(fontsize=8)
right.legend(fontsize=8)
save(fig, "minimax-mfl.png")

# 2. MFL-ABR: the floor against β.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
for beta in ["1", "0.5", "0.25", "0.1"]:
    run = f"mfl-abr beta={beta}"
    xs, ni = series(run, "ni")
    left.semilogy(xs, ni, label=f"β = {beta}")
    xs, w1 = w1_max(run)
    right.semilogy(xs, w1, label=f"β = {beta}")
left.axhline(floor, color="grey", ls="--", lw=1, label="binned grid solution")
left.set(xlabel="step (inner = 50, h = 0.05)", ylabel="NI error", title="MFL-ABR on MM1D: NI by mixing weight β")
right.set(xlabel="step", ylabel="max W1 to the grid equilibrium", title="MFL-ABR: W1 by β")
left.legend(fontsize=8)
right.legend(fontsize=8)
save(fig, "minimax-abr.png")

# 3. Two-scale GDA at fixed τ: NI on a log scale with the fitted exponential.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
for run, label in [
    ("two-scale tau=0.1", "τ = 0.1, η = 2"),
    ("two-scale tau=0.2", "τ = 0.2, η = 2"),
    ("two-scale tau=0.3", "τ = 0.3, η = 2"),
    ("two-scale eta=1 tau=0.3", "τ = 0.3, η = 1"),
    ("two-scale eta=8 tau=0.3", "τ = 0.3, η = 8"),
]:
    reports = runs[run]["reports"]
    t = np.array([r["time"] for r in reports])
    ni = np.array([r["ni"] for r in reports])
    (line,) = left.semilogy(t, ni, lw=1, label=f"{label}")
    fit = runs[run]["exponential_fit"]
    if fit:
        window = (t >= fit["from_time"]) & (t <= fit["to_time"])
        slope, intercept = np.polyfit(t[window], np.log(ni[window]), 1)
        tt = np.linspace(fit["from_time"], fit["to_time"], 50)
        left.semilogy(
            tt, np.exp(intercept + slope * tt), "--", color=line.get_color(), lw=2,
            label=f"fit κ = {fit['rate']:.2f}, R² = {fit['r_squared']:.2f}",
        )
    xs, w1 = w1_max(run)
    right.semilogy(t, w1, lw=1, label=label)
left.set(xlabel="time t = step·h (h = 0.02)", ylabel="NI at τ", title="Two-scale GDA on the torus (MM1D), fixed τ")
right.set(xlabel="time", ylabel="max circle W1 to the grid equilibrium", title="Two-scale GDA: W1")
left.set_xlim(0, 20)
right.set_xlim(0, 20)
left.legend(fontsize=7, ncol=2)
right.legend(fontsize=8)
save(fig, "minimax-two-scale.png")

# 4. Annealing against a fixed temperature.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
for run, label in [("two-scale annealed C=0.6", "annealed τ_t = 0.6 / log(t + e)"), ("two-scale fixed tau=0.6", "fixed τ = 0.6")]:
    reports = runs[run]["reports"]
    t = np.array([r["time"] for r in reports])
    left.plot(t, [r["ni_unregularised"] for r in reports], label=label)
    right.semilogy(t, [r["ni"] for r in reports], label=f"{label}: NI at the current τ")
    right.semilogy(t, [max(r["w1_mu"], r["w1_nu"]) for r in reports], ":", label=f"{label}: circle W1")
tau = [r["tau"] for r in runs["two-scale annealed C=0.6"]["reports"]]
t = [r["time"] for r in runs["two-scale annealed C=0.6"]["reports"]]
twin = left.twinx()
twin.plot(t, tau, color="grey", ls="--", lw=1)
twin.set_ylabel("τ_t (dashed)")
left.set(xlabel="time t = step·h (h = 0.02)", ylabel="unregularised NI", title="Annealing lowers the unregularised NI")
right.set(xlabel="time", ylabel="NI at τ_t, circle W1", title="Against the equilibrium at the current τ")
left.legend(fontsize=8)
right.legend(fontsize=7)
save(fig, "minimax-annealing.png")
