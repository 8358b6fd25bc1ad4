"""MeanFlow training objective and the few-step samplers, for a class-conditional latent model.

Implements Geng et al., "Mean Flows for One-step Generative Modeling" (arXiv 2505.13447), as its official
code does (Gsunshine/py-meanflow, meanflow/models/meanflow.py):
  path         z_t = (1 - t) x + t e,  v_t = e - x           (data at t = 0, noise at t = 1)
  identity     u(z_t, r, t) = v(z_t, t) - (t - r) d/dt u(z_t, r, t)
  target       u_tgt = ṽ_t - clip(t - r, 0, 1) (ṽ_t·∂_z u + ∂_t u), by a JVP with tangent (ṽ_t, 0, 1)
  loss         sg(w) ||u - sg(u_tgt)||²,  w = 1 / (||Δ||² + c)^p
  guidance     ṽ_t = ω v_t + κ u(z_t, t, t | y) + (1 - ω - κ) u(z_t, t, t | ∅)  (CFG baked into training)
  sampling     z_r = z_t - (t - r) u(z_t, r, t)
Flow matching is the special case r = t (ratio 0), where the JVP term is multiplied by zero; it is
then skipped, which changes the cost of an iteration but not the objective.
"""

from dataclasses import dataclass

import torch

from networks import NULL_LABEL


@dataclass(frozen=True)
class TimeSampler:
    """Logit-normal distributions of t and of r (each logit ~ N(mean, std)), drawn independently, then sorted."""

    t_mean: float
    t_std: float
    r_mean: float
    r_std: float

    def describe(self):
        t, r = (f"logit-normal({_signed(mean)}, {std})" for mean, std in ((self.t_mean, self.t_std), (self.r_mean, self.r_std)))
        return f"(t, r) {t}" if t == r else f"t {t}, r {r}"


def _signed(number):
    return str(number).replace("-", "\u2212")


# The paper's ImageNet recipe: one distribution for both.
IMAGENET_TIMES = TimeSampler(-0.4, 1.0, -0.4, 1.0)
# The official PyTorch code's improved CIFAR-10 recipe (Gsunshine/py-meanflow, meanflow/scripts/cifar10_v1.sh):
# r mostly near 0, so many training intervals end at the data, where a one-step sample lands.
CIFAR_V1_TIMES = TimeSampler(-0.6, 1.6, -4.0, 1.6)
TIME_SAMPLERS = {"imagenet": IMAGENET_TIMES, "cifar-v1": CIFAR_V1_TIMES}
ADAPTIVE_POWER, ADAPTIVE_EPS = 1.0, 1e-3  # p (the ImageNet recipe's; cifar10_v1.sh uses 0.75) and c of the adaptive loss weight
CLASS_DROPOUT = 0.1


def jvp_function(prefer_forward_ad=False):
    """jvp(f, primals, tangents) -> (f(primals), directional derivative).

    torch.func.jvp on torch >= 2.0. On Debian's torch 1.13: functorch.jvp, or forward-mode dual numbers
    when `prefer_forward_ad` (faster there for conv nets, slower for MLPs: reference §1.5, §1.7).
    """
    try:
        from torch.func import jvp

        return jvp
    except ImportError:
        if prefer_forward_ad:
            return forward_ad_jvp
        from functorch import jvp

        return jvp


def forward_ad_jvp(function, primals, tangents):
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        duals = [fwAD.make_dual(primal, tangent) for primal, tangent in zip(primals, tangents)]
        output, derivative = fwAD.unpack_dual(function(*duals))
        return output.detach(), derivative.detach()


def per_row(values, like):
    """[N] -> shape [N, 1, …, 1] broadcasting against `like` (latents [N, D] or images [N, C, H, W])."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def sample_time_pairs(batch_size, ratio, device, times=IMAGENET_TIMES):
    """(r, t) with r <= t, both logit-normal; a fraction 1 - ratio of the pairs get r = t."""
    t = torch.sigmoid(torch.randn(batch_size, device=device) * times.t_std + times.t_mean)
    r = torch.sigmoid(torch.randn(batch_size, device=device) * times.r_std + times.r_mean)
    t, r = torch.maximum(t, r), torch.minimum(t, r)
    keep_distinct = torch.rand(batch_size, device=device) < ratio
    return torch.where(keep_distinct, r, t), t


@torch.no_grad()
def guided_velocity(model, z, t, v, labels, omega, kappa):
    """ṽ_t: the conditional velocity mixed with the model's own instantaneous velocities (r = t).

    Rows whose label was dropped to the null label keep ṽ_t = v_t, so the model still learns the
    unconditional field that guidance extrapolates from.
    """
    null = torch.full_like(labels, NULL_LABEL)
    guided = omega * v + (1.0 - omega - kappa) * model(z, t, t, null)
    if kappa != 0.0:
        guided = guided + kappa * model(z, t, t, labels)
    return torch.where(per_row(labels == NULL_LABEL, v), v, guided)


def meanflow_loss(model, jvp, x, labels, ratio, omega, kappa, times=IMAGENET_TIMES, adaptive_power=ADAPTIVE_POWER):
    """One batch of the MeanFlow objective; returns (weighted loss, unweighted mean ||Δ||²)."""
    batch_size = x.shape[0]
    r, t = sample_time_pairs(batch_size, ratio, x.device, times)
    e = torch.randn_like(x)
    z = (1.0 - per_row(t, x)) * x + per_row(t, x) * e
    v = e - x
    labels = torch.where(torch.rand(batch_size, device=x.device) < CLASS_DROPOUT, torch.full_like(labels, NULL_LABEL), labels)
    v_guided = guided_velocity(model, z, t, v, labels, omega, kappa)

    u = model(z, r, t, labels)
    if ratio > 0:
        # The total derivative d/dt u(z_t, r, t) along the path: tangent (dz/dt, dr/dt, dt/dt) = (ṽ, 0, 1).
        # Computed without autograd history (the target is stop-gradient anyway), as the official
        # PyTorch code does when it does not compile the step.
        with torch.no_grad():
            _, dudt = jvp(
                lambda z_, r_, t_: model(z_, r_, t_, labels),
                (z, r, t),
                (v_guided, torch.zeros_like(r), torch.ones_like(t)),
            )
        target = v_guided - per_row((t - r).clamp(0.0, 1.0), x) * dudt
    else:
        target = v_guided
    squared_error = (u - target.detach()).pow(2).flatten(1).sum(dim=1)
    weight = 1.0 / (squared_error.detach() + ADAPTIVE_EPS) ** adaptive_power
    return (weight * squared_error).mean(), squared_error.mean().detach()


class ExponentialMovingAverage:
    """EMA of the weights with warm-up, decay_k = min(decay, (1 + k) / (10 + k)).

    Without warm-up a 0.999 EMA still carries ~0.999^k of the random initialisation after k steps,
    which visibly hurts runs of a few thousand iterations (reference, Appendix B).
    """

    def __init__(self, model, decay=0.999):
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model):
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for key, value in model.state_dict().items():
            self.shadow[key].mul_(decay).add_(value.detach(), alpha=1.0 - decay)
        self.updates += 1

    def state_dict(self):
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state):
        self.decay, self.updates, self.shadow = state["decay"], state["updates"], state["shadow"]


@torch.no_grad()
def sample_average_velocity(model, noise, labels, steps):
    """MeanFlow sampler on a uniform grid 1 -> 0: z_r = z_t - (t - r) u(z_t, r, t).

    steps = 1: x = e - u(e, 0, 1); steps = 2: z_½ = e - ½ u(e, ½, 1), x = z_½ - ½ u(z_½, 0, ½).
    """
    return _integrate(model, noise, labels, steps, use_interval=True)


@torch.no_grad()
def sample_euler(model, noise, labels, steps):
    """Flow-matching Euler sampler on a uniform grid 1 -> 0: z_{t-h} = z_t - h u(z_t, t, t)."""
    return _integrate(model, noise, labels, steps, use_interval=False)


def _integrate(model, noise, labels, steps, use_interval):
    grid = torch.linspace(1.0, 0.0, steps + 1)
    z = noise
    for t_value, r_value in zip(grid[:-1], grid[1:]):
        t = torch.full((len(z),), float(t_value))
        r = torch.full((len(z),), float(r_value)) if use_interval else t
        z = z - (t_value - r_value) * model(z, r, t, labels)
    return z
