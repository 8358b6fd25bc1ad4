#!/usr/bin/python3
"""Train a class-conditional MeanFlow (or, with --ratio 0, flow-matching) model on autoencoder latents.

    npm run train:meanflow      (train_meanflow.py --ratio 0.75 --times cifar-v1 --adaptive-power 0.75 --name meanflow-fmnist)
    npm run train:flowmatching  (train_meanflow.py --ratio 0 --name flowmatching-fmnist)
    /usr/bin/python3 training/train_meanflow.py --ratio 0.25 --no-export     (MeanFlow version 2's recipe; docs only)

--ratio is the fraction of training pairs with r != t (the PyTorch repo's convention; the JAX repo's
`data_proportion` is 1 - ratio). Needs training/checkpoints/fmnist-latents.pt from
train_autoencoder.py. Recipe: the paper's (arXiv 2505.13447) loss and sampler, at our scale. The EMA weights
are exported to models/<name>/model.onnx as u(z, r, t, y); the sampler loop lives in the server.
Checkpoints (every 1 000 iterations) go to training/checkpoints/<name>.pt; --resume continues one,
also to a larger --iterations. --device cuda trains on a GPU (torch 2.x uses torch.func.jvp); there the
random stream differs from the CPU's, so the weights differ too.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

import fmnist_data
from meanflow import ADAPTIVE_POWER, TIME_SAMPLERS, ExponentialMovingAverage, jvp_function, meanflow_loss
from model_export import Stopwatch, configure_torch, io_spec, publish_model
from networks import LATENT_DIM, NULL_LABEL, VelocityNet

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
LATENTS = CHECKPOINT_DIR / "fmnist-latents.pt"
LEARNING_RATE = 3e-4
ADAM_BETAS = (0.9, 0.99)
GRAD_CLIP = 1.0
EMA_DECAY = 0.999
CHECKPOINT_EVERY = 1000
LOG_EVERY = 200
DECODER_NAME = "fmnist-ae-decoder"
# Served versions. 1: the 32-d latent of fmnist-ae-decoder 1; 2: the 64-d latent of fmnist-ae-decoder 2;
# MeanFlow 3: the same latent and network as 2, trained with py-meanflow's CIFAR-10 (t, r) recipe (--times cifar-v1).
VERSIONS = {"meanflow-fmnist": "3", "flowmatching-fmnist": "2"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratio", type=float, required=True, help="fraction of (r, t) pairs with r != t; 0 = flow matching")
    parser.add_argument("--name", help="model name under models/ (default: meanflow-ratio-<ratio>)")
    parser.add_argument("--no-export", action="store_true", help="train and checkpoint only (ablations)")
    parser.add_argument("--iterations", type=int, default=20000, help="total iterations (a resumed run continues to it)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--omega", type=float, default=1.5, help="CFG ω baked into training")
    parser.add_argument("--kappa", type=float, default=0.0, help="CFG κ baked into training")
    parser.add_argument("--times", choices=sorted(TIME_SAMPLERS), default="imagenet", help="(t, r) distributions")
    parser.add_argument("--adaptive-power", type=float, default=ADAPTIVE_POWER, help="p of the adaptive loss weight")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from training/checkpoints/<name>.pt")
    parser.add_argument("--device", default="cpu", help="torch device for training, e.g. cuda (export is always on the CPU)")
    args = parser.parse_args()
    if args.name is None:
        args.name = f"meanflow-ratio-{args.ratio:g}"
    return args


def command_for(args):
    if args.no_export:
        return f"/usr/bin/python3 training/train_meanflow.py --ratio {args.ratio:g} --no-export"
    return "npm run train:flowmatching" if args.ratio == 0 else "npm run train:meanflow"


def load_checkpoint(path, model, ema, optimizer, device):
    state = torch.load(path, map_location=device)
    model.load_state_dict(state["model"])
    ema.load_state_dict(state["ema"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"].cpu())
    print(f"resumed {path} at iteration {state['step']}")
    return state["step"], state["seconds"], state["recent_losses"]


def save_checkpoint(path, args, model, ema, optimizer, step, seconds, recent_losses):
    torch.save(
        {
            "model": model.state_dict(),
            "ema": ema.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": torch.get_rng_state(),
            "step": step,
            "seconds": seconds,
            # so that a resumed run that has nothing left to train still reports its final error
            "recent_losses": recent_losses,
            "ratio": args.ratio,
            "omega": args.omega,
            "kappa": args.kappa,
            "times": args.times,
            "adaptive_power": args.adaptive_power,
        },
        path,
    )


def train(args, latents, labels):
    checkpoint = CHECKPOINT_DIR / f"{args.name}.pt"
    model = VelocityNet().to(args.device)
    ema = ExponentialMovingAverage(model, EMA_DECAY)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=ADAM_BETAS)
    step, seconds, recent_losses = 0, 0.0, []
    if args.resume and checkpoint.exists():
        step, seconds, recent_losses = load_checkpoint(checkpoint, model, ema, optimizer, args.device)
    jvp = jvp_function()
    clock = Stopwatch(seconds)
    model.train()
    while step < args.iterations:
        rows = torch.randint(len(latents), (args.batch_size,)).to(args.device)
        loss, squared_error = meanflow_loss(
            model, jvp, latents[rows], labels[rows], args.ratio, args.omega, args.kappa,
            TIME_SAMPLERS[args.times], args.adaptive_power,
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        ema.update(model)
        step += 1
        recent_losses.append(float(squared_error))
        recent_losses = recent_losses[-LOG_EVERY:]
        if step % LOG_EVERY == 0:
            print(f"iteration {step:5d}  mean ||Δ||² {np.mean(recent_losses):.4f}  {clock.seconds():.0f} s", flush=True)
        if step % CHECKPOINT_EVERY == 0 or step == args.iterations:
            save_checkpoint(checkpoint, args, model, ema, optimizer, step, clock.seconds(), recent_losses)
    ema_model = VelocityNet()  # on the CPU, where it is exported
    ema_model.load_state_dict(ema.shadow)
    return ema_model.eval(), clock.seconds(), float(np.mean(recent_losses))


def parity_inputs(ratio):
    """Four rows covering both samplers' calls and the null label (seeded, independent of training)."""
    z = torch.randn(4, LATENT_DIM, generator=torch.Generator().manual_seed(1234)).numpy()
    t = np.array([1.0, 1.0, 0.5, 0.25], dtype=np.float32)
    r = np.array([0.0, 0.5, 0.0, 0.25], dtype=np.float32) if ratio > 0 else t.copy()
    y = np.array([0, 3, 7, NULL_LABEL], dtype=np.int64)
    return {"z": z, "r": r, "t": t, "y": y}


def generator_metadata(args):
    return {
        "kind": "meanflow" if args.ratio > 0 else "flow-matching",
        "latent_dim": LATENT_DIM,
        "decoder": DECODER_NAME,
        "classes": fmnist_data.CLASS_NAMES,
        "null_class": NULL_LABEL,
        "guidance": {"omega": args.omega, "kappa": args.kappa},
        "steps": {"min": 1, "max": 2 if args.ratio > 0 else 64},
    }


def card(args, metrics):
    if args.ratio > 0:
        title, sampling = (
            "MeanFlow",
            "1 NFE: `x = e - u(e, r=0, t=1)`; 2 NFE: `z½ = e - ½u(e, ½, 1)`, `x = z½ - ½u(z½, 0, ½)`",
        )
    else:
        title, sampling = (
            "flow matching",
            "Euler on a uniform grid from 1 to 0, `z_(t-h) = z_t - h u(z_t, r=t, t)`, 1 … 64 steps",
        )
    return f"""# {args.name} (version {VERSIONS.get(args.name, "1")})

A class-conditional {title} generator of Fashion-MNIST in the {LATENT_DIM}-d latent space of
`{DECODER_NAME}`, with classifier-free guidance (ω = {args.omega}, κ = {args.kappa}) baked in at training time.

- **Interface**: inputs `z` FP32 `[N, {LATENT_DIM}]`, `r` FP32 `[N]`, `t` FP32 `[N]` (0 ≤ r ≤ t ≤ 1),
  `y` INT64 `[N]` (0 … 9 = class, {NULL_LABEL} = unconditional); output `u` FP32 `[N, {LATENT_DIM}]`, the average
  velocity over [r, t] (the instantaneous velocity when r = t).
- **Sampling**: e ~ N(0, I) in {LATENT_DIM}-d; {sampling}; then `{DECODER_NAME}` turns the latent into an image.
- **Architecture**: [z ‖ sinusoidal(t, 64) ‖ sinusoidal(t − r, 64) ‖ label embedding (11 x 64)] ->
  Linear 384 -> 3 residual blocks (LayerNorm, 384->384, SiLU, 384->384) -> LayerNorm, SiLU, Linear {LATENT_DIM}.
  EMA weights (decay {EMA_DECAY}, with warm-up) are exported.
- **Training**: `{command_for(args)}`, seed {args.seed}; {metrics['iterations']} iterations at batch
  {args.batch_size} on the standardised latents of the 60 000 training images; r ≠ t for
  {args.ratio:.0%} of pairs, {TIME_SAMPLERS[args.times].describe()}, adaptive loss p = {args.adaptive_power:g}, c = 1e-3, class
  dropout 0.1, Adam lr {LEARNING_RATE} betas {ADAM_BETAS}, grad-clip {GRAD_CLIP};
  {metrics['training_seconds']:.0f} s on one CPU thread.
- **Measured quality**: see `metrics.json` (filled in by `npm run eval:meanflow`) and `docs/meanflow.md`.
- **Parity**: `parity.json` holds 4 rows and PyTorch's output; a correct runtime matches within 1e-4.
- **Limits**: a small model trained for minutes on a CPU; samples are recognisable but blurry
  (the autoencoder bounds their quality).
"""


def main():
    args = parse_args()
    configure_torch(args.seed)
    CHECKPOINT_DIR.mkdir(exist_ok=True)
    data = torch.load(LATENTS)
    model, seconds, final_error = train(args, data["latents"].to(args.device), data["labels"].to(args.device))
    metrics = {
        "iterations": args.iterations,
        "batch_size": args.batch_size,
        "ratio_r_not_t": args.ratio,
        "final_mean_squared_error": round(final_error, 4),
        "training_seconds": round(seconds, 1),
    }
    print(f"done: {metrics}")
    if args.no_export:
        return
    publish_model(
        args.name,
        model,
        parity_inputs(args.ratio),
        [
            io_spec("z", "FP32", [LATENT_DIM]),
            io_spec("r", "FP32", [], (0.0, 1.0)),
            io_spec("t", "FP32", [], (0.0, 1.0)),
            io_spec("y", "INT64", [], (0, NULL_LABEL)),
        ],
        [io_spec("u", "FP32", [LATENT_DIM])],
        f"Class-conditional Fashion-MNIST {'MeanFlow' if args.ratio > 0 else 'flow-matching'} velocity in the "
        f"{LATENT_DIM}-d latent of {DECODER_NAME}, CFG baked in.",
        "generation",
        metrics,
        {"command": command_for(args), "seed": args.seed, "seconds": round(seconds, 1)},
        card(args, metrics),
        extra={"generator": generator_metadata(args)},
        version=VERSIONS.get(args.name, "1"),
    )


if __name__ == "__main__":
    main()
