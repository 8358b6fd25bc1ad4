"""The reference free-energy difference of the feat.free-energy job's `dw4` pair, from long runs that do not
use FEAT: ΔF = F_b − F_a between U_a = ½κΣ|x_i − x̄|² and U_b = U_a + E_DW4 (κ = 0.25; DW-4 of Köhler, Klein,
Noé 2020, arXiv 2006.02425: a = 0, b = −4, c = 0.9, d0 = 4, tau = 1; src/solvers/feat/systems/dw4.ts).

1. Thermodynamic integration along U_λ = U_a + λ E_DW4: ΔF = ∫₀¹ ⟨E_DW4⟩_λ dλ by Gauss–Legendre quadrature
   (48 nodes in s with λ = s³, crowding them where ⟨E_DW4⟩ changes fast; 24 nodes as a check of the
   quadrature error). At every node, independent MALA chains on the
   mean-free subspace (noise projected, as the job's paths), step size adapted towards 57.4 % acceptance in the
   burn-in (its first four fifths), ⟨E_DW4⟩ averaged over the production steps; its standard error from the spread of the chains'
   own averages (the chains are independent), and the CI of ΔF is ±1.96 × √(Σ w_k² SE_k²).
2. BAR between neighbouring nodes on the same samples (E_DW4 differences times Δλ), summed: a second
   estimate of the same ΔF with no quadrature error.
3. FEP from a's exact samples, ΔF = −log E_a[exp(−E_DW4)], with its bootstrap-free delta-method SE: a third,
   independent estimate (no MCMC at all).

Writes training/results/feat-dw4-reference.json. Usage: /usr/bin/python3 training/feat_dw4_reference.py
[--chains 1000 --burn 1500 --steps 2500 --nodes 48 --fep 20000000]
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from bar import bar_log_ratio

KAPPA = 0.25
PARTICLES, SPATIAL = 4, 2
A, B, C, D0, TAU = 0.0, -4.0, 0.9, 4.0, 1.0
RESULTS = Path(__file__).resolve().parent / "results"


def remove_mean(x):
    x = x.view(x.shape[0], PARTICLES, SPATIAL)
    return (x - x.mean(1, keepdim=True)).reshape(x.shape[0], -1)


def harmonic(x):
    return 0.5 * KAPPA * (remove_mean(x) ** 2).sum(1)


def double_well(x):
    p = x.view(x.shape[0], PARTICLES, 1, SPATIAL) - x.view(x.shape[0], 1, PARTICLES, SPATIAL)
    r = torch.sqrt((p ** 2).sum(-1) + 1e-30)
    i, j = torch.triu_indices(PARTICLES, PARTICLES, 1)
    u = r[:, i, j] - D0
    return (0.5 * TAU * (A * u + B * u ** 2 + C * u ** 4)).sum(1)


def energy_and_gradient(x, lam):
    x = x.detach().requires_grad_(True)
    dw = double_well(x)
    u = harmonic(x) + lam * dw
    (g,) = torch.autograd.grad(u.sum(), x)
    return u.detach(), g.detach(), dw.detach()


def harmonic_samples(n, generator):
    return remove_mean(torch.randn(n, PARTICLES * SPATIAL, generator=generator, dtype=torch.float64) / math.sqrt(KAPPA))


def compact_start(n, generator, descent=300):
    """Where chains start: unit-scale Gaussian positions relaxed by a few hundred capped gradient steps on U_b,
    so every chain starts near one of DW-4's local minima. Not the harmonic state's own σ = 2: its far tail
    (pair distances past 10) and its overlapping pairs sit on quartic walls so steep that MALA chains started
    there stay stuck once the step size has adapted to the others."""
    x = remove_mean(torch.randn(n, PARTICLES * SPATIAL, generator=generator, dtype=torch.float64))
    for _ in range(descent):
        _, g, _ = energy_and_gradient(x, 1.0)
        step = 0.05 * g
        length = step.norm(dim=1, keepdim=True)
        x = x - step * torch.clamp(0.2 / (length + 1e-12), max=1.0)
    return x


def run_windows(lams, chains, burn, steps, generator, thin=20):
    """MALA at every λ at once (one batch of nodes × chains); returns per-chain means of E_DW4, the samples'
    E_DW4 traces at every node (for BAR), the adapted step sizes and the chains' last positions."""
    nodes = lams.shape[0]
    lam = lams.repeat_interleave(chains)
    x = compact_start(nodes * chains, generator)
    tau = torch.full((nodes,), 0.05, dtype=torch.float64)
    u, g, dw = energy_and_gradient(x, lam)
    sums = torch.zeros(nodes * chains, dtype=torch.float64)
    kept = []
    for step in range(burn + steps):
        t = tau.repeat_interleave(chains)[:, None]
        noise = remove_mean(torch.randn(x.shape, generator=generator, dtype=torch.float64))
        y = x - t * g + torch.sqrt(2 * t) * noise
        uy, gy, dwy = energy_and_gradient(y, lam)
        forward = ((y - x + t * g) ** 2).sum(1)
        backward = ((x - y + t * gy) ** 2).sum(1)
        log_ratio = u - uy + (forward - backward) / (4 * t[:, 0])
        accept = torch.log(torch.rand(x.shape[0], generator=generator, dtype=torch.float64)) < log_ratio
        x = torch.where(accept[:, None], y, x)
        u = torch.where(accept, uy, u)
        g = torch.where(accept[:, None], gy, g)
        dw = torch.where(accept, dwy, dw)
        # Adapted through most of the burn-in: chains that start in the harmonic state relax through steep
        # quartic walls first, and a step size fixed during that transient stays far too small afterwards.
        if step < burn * 4 // 5:
            rate = accept.double().view(nodes, chains).mean(1)
            tau = torch.clamp(tau * torch.exp(rate - 0.574), 1e-6, 10.0)
        if step >= burn:
            sums += dw
            if (step - burn) % thin == 0:
                kept.append(dw.view(nodes, chains).clone())
    means = (sums / max(steps, 1)).view(nodes, chains)
    traces = torch.stack(kept, 2).reshape(nodes, -1) if kept else None
    return means, traces, tau, x


def thermodynamic_integration(nodes, chains, burn, steps, generator):
    # λ = s³: ⟨E_DW4⟩_λ falls from the harmonic state's large, heavy-tailed value within a few hundredths of
    # λ, so the nodes crowd there (dλ = 3s² ds).
    points, weights = np.polynomial.legendre.leggauss(nodes)
    s = (points + 1) / 2
    lams = torch.tensor(s ** 3, dtype=torch.float64)
    w = torch.tensor(weights / 2 * 3 * s ** 2, dtype=torch.float64)
    means, traces, tau, _ = run_windows(lams, chains, burn, steps, generator)
    per_node = means.mean(1)
    se = means.std(1) / math.sqrt(chains)
    delta_f = float((w * per_node).sum())
    half_width = 1.96 * float(torch.sqrt((w ** 2 * se ** 2).sum()))
    return {"delta_f": delta_f, "ci": [delta_f - half_width, delta_f + half_width], "nodes": nodes,
            "lambdas": lams.tolist(), "mean_double_well": per_node.tolist(), "se": se.tolist(),
            "step_sizes": tau.tolist()}, lams, traces


def neighbour_bar(lams, traces):
    """Σ_k BAR(λ_k → λ_{k+1}), with the end states at λ = 0 and 1 reached by one-sided FEP from the end nodes."""
    total = 0.0
    for k in range(lams.shape[0] - 1):
        gap = float(lams[k + 1] - lams[k])
        total += -bar_log_ratio(-gap * traces[k], gap * traces[k + 1])
    first = traces[0]
    last = traces[-1]
    # λ_0 → 0 and λ_K → 1: FEP over the small remaining gaps (exp(∓gap·E) is well-behaved there).
    to_start = -(-(torch.logsumexp(float(lams[0]) * first, 0) - math.log(first.shape[0])))
    to_end = -(torch.logsumexp(-(1 - float(lams[-1])) * last, 0) - math.log(last.shape[0]))
    return float(total + to_start + to_end)


def free_energy_perturbation(n, generator, batch=1_000_000):
    values = []
    for start in range(0, n, batch):
        x = harmonic_samples(min(batch, n - start), generator)
        values.append(-double_well(x))
    w = torch.cat(values)
    shift = w.max()
    weights = torch.exp(w - shift)
    mean = weights.mean()
    se = weights.std() / math.sqrt(n)
    delta_f = float(-(torch.log(mean) + shift))
    half_width = 1.96 * float(se / mean)
    return {"delta_f": delta_f, "ci": [delta_f - half_width, delta_f + half_width], "samples": n,
            "ess_fraction": float(weights.sum() ** 2 / (weights ** 2).sum() / n)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--burn", type=int, default=1500)
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--nodes", type=int, default=48)
    parser.add_argument("--fep", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()
    fep = free_energy_perturbation(args.fep, generator)
    print("FEP", json.dumps(fep), flush=True)
    ti, lams, traces = thermodynamic_integration(args.nodes, args.chains, args.burn, args.steps, generator)
    print("TI", ti["delta_f"], ti["ci"], flush=True)
    coarse, _, _ = thermodynamic_integration(args.nodes // 2, args.chains, args.burn, args.steps, generator)
    print("TI coarse", coarse["delta_f"], coarse["ci"], flush=True)
    bar_sum = neighbour_bar(lams, traces)
    print("BAR between nodes", bar_sum, flush=True)
    result = {
        "system": {"name": "dw4", "kappa": KAPPA, "a": A, "b": B, "c": C, "d0": D0, "tau": TAU},
        "settings": {k: getattr(args, k) for k in ("chains", "burn", "steps", "nodes", "fep", "seed")},
        "thermodynamic_integration": ti,
        "thermodynamic_integration_half_nodes": {k: coarse[k] for k in ("delta_f", "ci", "nodes")},
        "bar_between_nodes": bar_sum,
        "free_energy_perturbation": fep,
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "feat-dw4-reference.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("bar_between_nodes", "seconds")}), flush=True)


if __name__ == "__main__":
    main()
