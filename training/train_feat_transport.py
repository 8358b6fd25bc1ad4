"""Learns FEAT's transport (velocity b_t and score s_t of a stochastic interpolant) for a built-in pair of
the feat.free-energy job, evaluates the FEAT estimator with it, and publishes it as an ONNX model.

FEAT: He, Du, Vargas, Wang, Gomes, Hernandez-Lobato, Vanden-Eijnden 2025 (arXiv 2504.11516); the losses of
the official code (jiajunhe98/FEAT, loss.py and training.py):
    I_t = (1 - t) x_a + t x_b + gamma_t z,  gamma_t^2 = a t (1 - t),  a = 0.05,  x_a, x_b, z independent
    L_b   = E[ 1/2 |b(I_t)|^2 - (x_b - x_a + gamma'_t z) . b(I_t) ]
    L_eta = E[ gamma_t 1/2 |eta(I_t)|^2 - z . eta(I_t) ],  eta = -s
    L_TSM = E_{t<1/2}[ alpha_t 1/2 |s|^2 - grad log rho_a(x_a) . s ] + E_{t>=1/2}[ beta_t 1/2 |s|^2 - grad log rho_b(x_b) . s ]
    loss  = L_b + L_eta + 0.1 L_TSM, antithetic noise (z, -z), Adam, grad-clip 5, EMA of the weights.
Deviations: no mini-batch OT pairing; small MLPs (3 hidden layers, GELU) and a few thousand iterations on
one CPU thread; t is drawn in [1e-3, 1 - 1e-3] (gamma'_t is singular at the ends).

The systems are the job's (src/solvers/feat/systems): the GMM means come from the same seeded generator
(xoshiro128** through splitmix32, src/lib/random.ts, re-implemented below), and phi^4 umbrella samples from
MALA chains. system-check.json records energies at a few points, which test/feat-models.test.ts compares
with the TypeScript energies.

DW-4 (a particle system) is handled as FEAT's code handles its Lennard-Jones systems: mean-free projection
of the interpolant's noise, of the paths' noise and of the networks' inputs and outputs, and equivariant
networks (training/egnn.py) instead of MLPs; its end state b comes from MALA chains on the mean-free subspace.

Usage: /usr/bin/python3 training/train_feat_transport.py --system gmm|phi4_umbrella|dw4 [--iterations N]
"""

import argparse
import json
import math
import time

import numpy as np
import torch
from torch import nn

import feat_dw4_reference as dw4
from bar import bar_log_ratio
from egnn import EquivariantFields
from egnn import remove_mean as project_mean
from manifest_update import MODELS_DIR, REPO_ROOT, write_json
from model_export import Stopwatch, configure_torch, io_spec, publish_model

MASK = 0xFFFFFFFF
NOISE = 0.05
CHECKPOINTS = REPO_ROOT / "training" / "checkpoints"


# --- src/lib/random.ts, bit for bit -------------------------------------------------------------------------
def _imul(a, b):
    return (a * b) & MASK


def _splitmix32(state):
    s = state & MASK

    def nxt():
        nonlocal s
        s = (s + 0x9E3779B9) & MASK
        z = s
        z = _imul(z ^ (z >> 16), 0x85EBCA6B)
        z = _imul(z ^ (z >> 13), 0xC2B2AE35)
        return (z ^ (z >> 16)) & MASK

    return nxt


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & MASK


class JsRandom:
    def __init__(self, seed):
        nxt = _splitmix32(seed)
        self.s = [nxt() for _ in range(4)]

    def next_uint32(self):
        s = self.s
        result = _imul(_rotl(_imul(s[1], 5), 7), 9)
        t = (s[1] << 9) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 11)
        return result

    def next_uniform(self):
        high = self.next_uint32() >> 5
        low = self.next_uint32() >> 6
        return (high * 67108864 + low + 0.5) / 9007199254740992


def derive_seed(seed, index):
    return _splitmix32((seed ^ _imul(index + 1, 0x2545F491)) & MASK)()


# --- the job's built-in systems -------------------------------------------------------------------------------
GMM = {"name": "gmm", "dim": 10, "loc_scaling": 2,
       "a": {"components": 4, "scale": 0.3, "seed": 0, "offset": 0},
       "b": {"components": 3, "scale": 0.2, "seed": 10, "offset": 2}}
PHI4 = {"name": "phi4_umbrella", "side": 8, "beta": -2, "gamma": 12.8, "kappa": 5, "center": 0.6}


class Mixture:
    def __init__(self, dim, end, loc_scaling):
        rng = JsRandom(derive_seed(end["seed"], 0))
        means = [(2 * rng.next_uniform() - 1) * loc_scaling for _ in range(end["components"] * dim)]
        self.means = torch.tensor(means, dtype=torch.float64).reshape(end["components"], dim)
        self.scale = end["scale"]
        self.offset = end["offset"]
        self.dim = dim

    def energy(self, x):
        x = x.double()
        k, d = self.means.shape
        squared = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        log_component = -math.log(k) - d / 2 * math.log(2 * math.pi * self.scale ** 2) - squared / (2 * self.scale ** 2)
        return -torch.logsumexp(log_component, dim=1) + self.offset

    def sample(self, n, generator):
        k = torch.randint(self.means.shape[0], (n,), generator=generator)
        return (self.means[k] + self.scale * torch.randn(n, self.dim, generator=generator, dtype=torch.float64)).float()


class Phi4:
    def __init__(self, p, sign):
        self.side, self.beta, self.gamma, self.kappa = p["side"], p["beta"], p["gamma"], p["kappa"]
        self.center = sign * p["center"]
        self.dim = self.side ** 2

    def energy(self, x):
        phi = x.double().reshape(-1, self.side, self.side)
        right = torch.roll(phi, -1, dims=2)
        down = torch.roll(phi, -1, dims=1)
        u = ((self.beta / 2 + 4) * (phi ** 2).sum((1, 2)) + self.gamma / 16 * (phi ** 4).sum((1, 2))
             - 2 * (phi * (right + down)).sum((1, 2)))
        magnetisation = phi.mean((1, 2))
        return u + self.kappa * (magnetisation - self.center) ** 2

    def sample(self, n, generator, steps=2000):
        """MALA chains from phi = c, step size adapted in the first half (as the job's sampler)."""
        x = torch.full((n, self.dim), self.center, dtype=torch.float64)
        tau = 0.01
        u, g = energy_and_gradient(self, x)
        for step in range(steps):
            y = x - tau * g + math.sqrt(2 * tau) * torch.randn(x.shape, generator=generator, dtype=torch.float64)
            uy, gy = energy_and_gradient(self, y)
            forward = ((y - x + tau * g) ** 2).sum(1)
            backward = ((x - y + tau * gy) ** 2).sum(1)
            log_ratio = u - uy + (forward - backward) / (4 * tau)
            accept = torch.log(torch.rand(n, generator=generator, dtype=torch.float64)) < log_ratio
            x = torch.where(accept[:, None], y, x)
            u = torch.where(accept, uy, u)
            g = torch.where(accept[:, None], gy, g)
            if step < steps // 2:
                tau = min(10.0, max(1e-8, tau * math.exp(accept.double().mean().item() - 0.574)))
        return x.float()


class Dw4:
    """The job's dw4 states: the harmonic term alone (a, exact samples) or with the double well on (b, MALA)."""

    particles, spatial, dim = dw4.PARTICLES, dw4.SPATIAL, dw4.PARTICLES * dw4.SPATIAL

    def __init__(self, coupling):
        self.coupling = coupling

    def energy(self, x):
        x = x.double()
        return dw4.harmonic(x) + self.coupling * dw4.double_well(x)

    def sample(self, n, generator, steps=3000):
        if self.coupling == 0:
            return dw4.harmonic_samples(n, generator).float()
        # The reference run's MALA at λ = 1 (relaxed starts, projected noise, adapted step), positions kept.
        return dw4.run_windows(torch.tensor([1.0], dtype=torch.float64), n, steps, 0, generator)[3].float()


def centre(x, state):
    """Noise of a particle system lives on the mean-free subspace (FEAT's center_noise); others pass through."""
    return project_mean(x, state.particles, state.spatial) if isinstance(state, Dw4) else x


def energy_and_gradient(state, x):
    x = x.detach().double().requires_grad_(True)
    u = state.energy(x)
    (g,) = torch.autograd.grad(u.sum(), x)
    return u.detach(), g.detach()


# --- networks -------------------------------------------------------------------------------------------------
class TimeMlp(nn.Module):
    """[x, sin/cos(pi k t), k = 1..8] -> 3 GELU layers -> d."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.register_buffer("frequencies", math.pi * torch.arange(1, 9, dtype=torch.float32))
        self.net = nn.Sequential(
            nn.Linear(dim + 16, hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, dim),
        )

    def forward(self, t, x):
        angles = t[:, None] * self.frequencies[None, :]
        return self.net(torch.cat([x, torch.sin(angles), torch.cos(angles)], dim=1))


class Fields(nn.Module):
    """The served graph: (t [N], x [N, d]) -> (b [N, d], s [N, d])."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.velocity = TimeMlp(dim, hidden)
        self.score = TimeMlp(dim, hidden)

    def forward(self, t, x):
        return self.velocity(t, x), self.score(t, x)


def losses(fields, xa, xb, score_a, score_b, generator, state):
    n = xa.shape[0]
    t = 1e-3 + (1 - 2e-3) * torch.rand(n, generator=generator)
    z = centre(torch.randn(xa.shape, generator=generator), state)
    gamma = torch.sqrt(NOISE * t * (1 - t))
    gamma_dot = NOISE * (1 - 2 * t) / (2 * gamma)
    total_b = 0.0
    total_eta = 0.0
    total_tsm = 0.0
    alpha = (1 - t)[:, None]
    beta = t[:, None]
    for sign in (1.0, -1.0):
        zs = sign * z
        interpolant = alpha * xa + beta * xb + gamma[:, None] * zs
        b, s = fields(t, interpolant)
        target = xb - xa + gamma_dot[:, None] * zs
        total_b = total_b + (0.5 * (b ** 2).sum(1) - (target * b).sum(1)).mean()
        eta = -s
        total_eta = total_eta + (gamma * 0.5 * (eta ** 2).sum(1) - (zs * eta).sum(1)).mean()
        early = (t < 0.5).float()
        tsm = early * ((1 - t) * 0.5 * (s ** 2).sum(1) - (score_a * s).sum(1)) + (1 - early) * (
            t * 0.5 * (s ** 2).sum(1) - (score_b * s).sum(1))
        total_tsm = total_tsm + tsm.mean()
    return total_b / 2, total_eta / 2, total_tsm / 2


# --- the FEAT estimator, to measure the transport (float64 weights, as the job) -------------------------------
@torch.no_grad()
def path_log_weights(fields, start, first, last, forward, steps, eps, generator):
    h = 1.0 / steps
    sign = 1.0 if forward else -1.0
    x = start.double()
    weights = first.energy(x)

    def at(k, points):
        t = torch.full((points.shape[0],), k / steps if forward else 1 - k / steps)
        b, s = fields(t, points.float())
        return b.double(), s.double()

    b, s = at(0, x)
    for k in range(steps):
        xi = centre(torch.randn(x.shape, generator=generator, dtype=torch.float64), first)
        nxt = x + h * (sign * b + eps * s) + math.sqrt(2 * h * eps) * xi
        weights = weights + 0.5 * (xi ** 2).sum(1)
        bn, sn = at(k + 1, nxt)
        back = nxt - h * sign * bn + h * eps * sn
        weights = weights - ((x - back) ** 2).sum(1) / (4 * h * eps)
        x, b, s = nxt, bn, sn
    return weights - last.energy(x)


def evaluate(fields, a, b, exact, samples_a, samples_b, generator, steps=100, eps=0.01):
    n = samples_a.shape[0]
    forward = path_log_weights(fields, samples_a, a, b, True, steps, eps, generator)
    reverse = path_log_weights(fields, samples_b, b, a, False, steps, eps, generator)
    log_n = math.log(n)
    estimates = {
        "forward": -(torch.logsumexp(forward, 0).item() - log_n),
        "reverse": torch.logsumexp(reverse, 0).item() - log_n,
        "bar": -bar_log_ratio(forward, reverse),
        "bound_lower": reverse.mean().item(),
        "bound_upper": -forward.mean().item(),
    }
    ess = math.exp(2 * torch.logsumexp(forward, 0).item() - torch.logsumexp(2 * forward, 0).item()) / n
    return {
        "eval_paths_per_direction": n, "eval_steps": steps, "eval_eps": eps, "exact_delta_f": exact,
        **{f"delta_f_{k}": round(v, 4) for k, v in estimates.items()},
        "bar_error": round(estimates["bar"] - exact, 4), "ess_fraction_forward": round(ess, 4),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", choices=["gmm", "phi4_umbrella", "dw4"], required=True)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    configure_torch(args.seed)
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)

    if args.system == "gmm":
        params, name = GMM, "feat-gmm"
        a, b = Mixture(GMM["dim"], GMM["a"], GMM["loc_scaling"]), Mixture(GMM["dim"], GMM["b"], GMM["loc_scaling"])
        exact = GMM["b"]["offset"] - GMM["a"]["offset"]
        pool_a, pool_b = a.sample(100_000, generator), b.sample(100_000, generator)
    elif args.system == "dw4":
        params, name = {"name": "dw4"}, "feat-dw4"
        a, b = Dw4(0.0), Dw4(1.0)
        reference = json.loads((REPO_ROOT / "training" / "results" / "feat-dw4-reference.json").read_text())
        exact = reference["thermodynamic_integration"]["delta_f"]
        started = time.perf_counter()
        pool_a, pool_b = a.sample(100_000, generator), b.sample(20_000, generator, steps=2000)
        print(f"MALA end-state pool in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        params, name = PHI4, "feat-phi4-umbrella"
        a, b = Phi4(PHI4, 1), Phi4(PHI4, -1)
        exact = 0.0
        started = time.perf_counter()
        pool_a, pool_b = a.sample(20_000, generator), b.sample(20_000, generator)
        print(f"MALA end-state pools in {time.perf_counter() - started:.0f} s", flush=True)
    dim = a.dim
    score_pool_a = -energy_and_gradient(a, pool_a)[1].float()
    score_pool_b = -energy_and_gradient(b, pool_b)[1].float()

    make_fields = (lambda: EquivariantFields(Dw4.particles, Dw4.spatial, args.hidden)) if args.system == "dw4" else (
        lambda: Fields(dim, args.hidden))
    fields = make_fields()
    ema = make_fields()
    ema.load_state_dict(fields.state_dict())
    optimizer = torch.optim.Adam(fields.parameters(), lr=1e-3)
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    checkpoint_path = CHECKPOINTS / f"{name}.pt"
    start, already = 0, 0.0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path)
        fields.load_state_dict(state["fields"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        start, already = state["iteration"], state["seconds"]
        print(f"resumed at iteration {start}", flush=True)
    stopwatch = Stopwatch(already)
    for iteration in range(start, args.iterations):
        ia = torch.randint(pool_a.shape[0], (args.batch,), generator=generator)
        ib = torch.randint(pool_b.shape[0], (args.batch,), generator=generator)
        loss_b, loss_eta, loss_tsm = losses(fields, pool_a[ia], pool_b[ib], score_pool_a[ia], score_pool_b[ib],
                                            generator, a)
        loss = loss_b + loss_eta + 0.1 * loss_tsm
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(fields.parameters(), 5.0)
        optimizer.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), fields.parameters()):
                p_ema.mul_(0.995).add_(p, alpha=0.005)
        if (iteration + 1) % 100 == 0:
            print(f"{iteration + 1} b {loss_b.item():.4f} eta {loss_eta.item():.4f} tsm {loss_tsm.item():.4f} "
                  f"{stopwatch.seconds():.0f} s", flush=True)
        if (iteration + 1) % 500 == 0 or iteration + 1 == args.iterations:
            torch.save({"fields": fields.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                        "generator": generator.get_state(), "iteration": iteration + 1,
                        "seconds": stopwatch.seconds()}, checkpoint_path)
    seconds = round(stopwatch.seconds(), 1)
    ema.eval()

    eval_generator = torch.Generator().manual_seed(12345)
    held_a = pool_a[torch.randperm(pool_a.shape[0], generator=eval_generator)[:2000]]
    held_b = pool_b[torch.randperm(pool_b.shape[0], generator=eval_generator)[:2000]]
    started = time.perf_counter()
    metrics = evaluate(ema, a, b, exact, held_a, held_b, eval_generator)
    metrics.update({"iterations": args.iterations, "batch_size": args.batch, "hidden": args.hidden,
                    "training_seconds": seconds, "eval_seconds": round(time.perf_counter() - started, 1)})
    print(json.dumps(metrics), flush=True)

    parity_generator = torch.Generator().manual_seed(7)
    parity_x = torch.cat([pool_a[:3], pool_b[:3]]).numpy().astype(np.float32)
    parity_t = np.array([0.0, 0.2, 0.45, 0.55, 0.8, 1.0], dtype=np.float32)
    checks = torch.randn(4, dim, generator=parity_generator, dtype=torch.float64) * 0.7
    check = {"system": params, "points": checks.tolist(), "energy_a": a.energy(checks).tolist(),
             "energy_b": b.energy(checks).tolist()}
    script = {"gmm": "gmm", "phi4_umbrella": "phi4", "dw4": "dw4"}[args.system]
    architecture = (
        f"two E(n)-equivariant graph networks (training/egnn.py: 4 layers, {args.hidden} hidden, attention, "
        "tanh-bounded coordinate updates, mean-free input and output), sinusoidal time features; EMA weights (0.995)"
        if args.system == "dw4" else
        f"two MLPs, [x ‖ sin(πkt), cos(πkt), k = 1…8] → 3 × {args.hidden} GELU → d; EMA weights (0.995)")
    pools = {"gmm": "exact", "phi4_umbrella": "MALA chains, 2 000 steps from φ ≡ ±c",
             "dw4": f"a exact, b {pool_b.shape[0]} MALA chains of 2 000 steps on the mean-free subspace from relaxed starts"}[args.system]
    card = f"""# {name} (version 1)

The learned transport of FEAT (He et al. 2025) for the built-in `{params['name']}` pair of the
`feat.free-energy` job: the velocity b_t and the score s_t of the stochastic interpolant
I_t = (1 − t) x_a + t x_b + γ_t z, γ_t² = 0.05 t(1 − t), between its two end states (d = {dim}).

- **System**: `{json.dumps(params)}` — the job refuses this model for any other system.
- **Interface**: inputs `t` FP32 `[N]` (0 … 1) and `x` FP32 `[N, {dim}]`; outputs `b` and `s`, FP32 `[N, {dim}]`.
- **Architecture**: {architecture}.
- **Training**: `npm run train:feat-{script}`, seed {args.seed};
  loss L_b + L_η + 0.1 L_TSM with antithetic noise (FEAT's loss.py), {args.iterations} iterations at batch
  {args.batch}, Adam 1e-3, grad-clip 5, independent pairs (no OT); end-state pools of {pool_a.shape[0]} and {pool_b.shape[0]} samples
  ({pools}); {seconds} s on the CPU.
- **Measured quality** (PyTorch, {metrics['eval_paths_per_direction']} paths per direction, K = {metrics['eval_steps']},
  ε = {metrics['eval_eps']}, held-out end samples): BAR ΔF = {metrics['delta_f_bar']} ({'reference' if args.system == 'dw4' else 'exact'} {exact}),
  forward {metrics['delta_f_forward']}, reverse {metrics['delta_f_reverse']}, bounds
  [{metrics['delta_f_bound_lower']}, {metrics['delta_f_bound_upper']}], forward ESS/N {metrics['ess_fraction_forward']}.
  The service's numbers with CIs are in docs/feat.md.
- **Parity**: `parity.json` holds 6 rows and PyTorch's outputs; a correct runtime matches within 1e-4.
  `system-check.json` holds energies of both end states at 4 points, checked against the TypeScript systems.
- **Limits**: a small model trained for minutes on a CPU; FEAT's estimators stay consistent with an imperfect
  transport (the path weights correct it), only their variance grows.
"""
    publish_model(
        name, ema, {"t": parity_t, "x": parity_x},
        [io_spec("t", "FP32", [], (0.0, 1.0)), io_spec("x", "FP32", [dim])],
        [io_spec("b", "FP32", [dim]), io_spec("s", "FP32", [dim])],
        f"FEAT transport (velocity b_t and score s_t of a stochastic interpolant) for the {params['name']} pair.",
        "free-energy-transport", metrics,
        {"command": f"npm run train:feat-{script}", "seed": args.seed,
         "seconds": seconds, "system": params},
        card,
    )
    write_json(MODELS_DIR / name / "system-check.json", check)


if __name__ == "__main__":
    main()
