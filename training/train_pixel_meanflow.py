#!/usr/bin/python3
"""Train and evaluate a pixel-space MeanFlow U-Net and its flow-matching baseline on Fashion-MNIST 28×28.

    python3 training/train_pixel_meanflow.py --minutes 7 --data-dir data/fashion-mnist --device cuda
    /usr/bin/python3 training/train_pixel_meanflow.py --minutes 0.5 --device cpu --eval-samples 200   # smoke test

One command, bounded by --minutes of wall-clock training: the same class-conditional U-Net
(training/pixel_unet.py, ~3.2 M parameters) is trained twice from the same initialisation and for
the same wall-clock share, once with the MeanFlow objective (25 % of pairs with r != t) and once as
plain flow matching (r = t always), both with CFG baked in (ω = 1.5, κ = 0, class dropout 0.1, as the
latent models of train_meanflow.py). Each training stops before its deadline. Then both EMA models
are scored as evaluate_meanflow.py scores the latent ones: seeded noise, class-balanced labels,
  FD-FMNIST       Fréchet distance between Gaussians fitted to the evaluation classifier's 256-d
                  features (training/checkpoints/classifier.pt) of the samples and of the 10 000
                  test images; the floor is real training images vs the test images;
  class accuracy  how often the classifier's top class is the class that was asked for;
for MeanFlow at 1 and 2 NFE and flow matching with 1 … 32 Euler steps. Samples are images in
[-1, 1] mapped to [0, 1] and clipped there (what a PNG would show) before classification.

Recipe: the loss of arXiv 2505.13447 (Gsunshine/py-meanflow, meanflow/models/meanflow.py), the JVP below,
and the U-Net of pixel_unet.py on Fashion-MNIST.
The JVP is torch.func.jvp on torch >= 2.0 and torch.autograd.forward_ad on torch 1.13 (Debian's,
without torch.func). The loss and the JVP run in fp32; on CUDA, TF32 matrix products are allowed.

Writes to --out-dir: pixel_meanflow_eval.json, four 10×10 PNG grids (a row per class), and the
EMA state_dicts pixel-meanflow.pt and pixel-flowmatching.pt (load into pixel_unet.PixelUNet()).
"""

import argparse
import json
import math
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

import fmnist_data
from meanflow import ADAPTIVE_EPS, ADAPTIVE_POWER, CLASS_DROPOUT, IMAGENET_TIMES, jvp_function, meanflow_loss
from networks import Classifier
from pixel_unet import PixelUNet, parameter_count

TRAINING_DIR = Path(__file__).resolve().parent
CLASSIFIER = TRAINING_DIR / "checkpoints" / "classifier.pt"
RESULTS_NAME = "pixel_meanflow_eval.json"

# The objective, as in meanflow.py / train_meanflow.py (reference §1.2).
MEANFLOW_RATIO = 0.25  # fraction of pairs with r != t (ImageNet recipe, the served latent model's)

# Optimisation (the latent models' settings, plus a short warm-up for the larger net).
LEARNING_RATE = 4e-4
ADAM_BETAS = (0.9, 0.99)
WARMUP_ITERATIONS = 200
GRAD_CLIP = 1.0
EMA_DECAY = 0.999
LOG_EVERY_SECONDS = 15.0

# Evaluation.
MEANFLOW_STEPS = [1, 2]
EULER_STEPS = [1, 2, 4, 8, 16, 32]
EVAL_BATCH = 1000
GRID_COLUMNS = 10
GRIDS = {
    ("pixel-meanflow", 1): "pixel-meanflow-1nfe.png",
    ("pixel-meanflow", 2): "pixel-meanflow-2nfe.png",
    ("pixel-flowmatching", 1): "pixel-flowmatching-1step.png",
    ("pixel-flowmatching", 32): "pixel-flowmatching-32steps.png",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=7.0, help="wall-clock budget; --train-share of it goes to each training")
    parser.add_argument("--train-share", type=float, default=0.45, help="fraction of --minutes for each of the two trainings")
    parser.add_argument("--data-dir", default=str(fmnist_data.DATA_DIR), help="folder with the four Fashion-MNIST idx .gz files")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, help="default 256 on CUDA, 16 on the CPU (where only smoke tests fit)")
    parser.add_argument("--omega", type=float, default=1.5, help="CFG ω baked into training")
    parser.add_argument("--kappa", type=float, default=0.0, help="CFG κ baked into training")
    parser.add_argument("--eval-samples", type=int, default=5000, help="generated images per setting (a multiple of 10)")
    parser.add_argument("--out-dir", default=str(TRAINING_DIR / "results" / "pixel"))
    parser.add_argument("--classifier", default=str(CLASSIFIER))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (the CPU box is shared)")
    args = parser.parse_args()
    if args.eval_samples % 10:
        parser.error("--eval-samples must be a multiple of 10 (classes are balanced)")
    if args.batch_size is None:
        args.batch_size = 256 if args.device.startswith("cuda") else 16
    return args


def configure(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":
        # TF32 matrix products and cuDNN autotuning (all shapes are fixed); the arithmetic of the
        # loss itself stays fp32 — reduced-precision JVPs are where the reported NaNs came from.
        allow_tf32()
        torch.backends.cudnn.benchmark = True
    return device


def allow_tf32():
    """TF32 for fp32 matmuls and convolutions: torch >= 2.9's fp32_precision API, else the old flags."""
    try:
        torch.backends.cuda.matmul.fp32_precision = "tf32"
        torch.backends.cudnn.conv.fp32_precision = "tf32"
    except Exception:  # older torch (1.13 raises AssertionError on unknown names): the flags 2.9+ deprecates
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def check_data_dir(data_dir):
    missing = [name for pair in fmnist_data._FILES.values() for name in pair if not (Path(data_dir) / name).exists()]
    if missing:
        sys.exit(f"{data_dir}: missing {', '.join(missing)} (the Fashion-MNIST idx .gz files; see --data-dir)")


# --------------------------------------------------------------------------------------------
# Data


def load_images(data_dir, split, device):
    """A whole split as ([N,1,28,28] float32 in [-1, 1], int64 [N]) on `device`."""
    fmnist_data.DATA_DIR = Path(data_dir)  # the loader reads this module global at call time
    images, labels = fmnist_data.load_split(split)
    return torch.from_numpy(fmnist_data.to_signed_range(images)).to(device), torch.from_numpy(labels).to(device)


# --------------------------------------------------------------------------------------------
# The objective is training/meanflow.py's (the same loss as the latent flows, on [N, 1, 28, 28] images).

class ParameterEMA:
    """EMA of the weights with warm-up, decay_k = min(decay, (1 + k) / (10 + k)), as meanflow.py's.

    Kept as two lists updated with multi-tensor (_foreach) ops: one kernel per update instead of
    two per tensor, which matters when a GPU iteration is only milliseconds long.
    """

    def __init__(self, model, decay):
        self.decay = decay
        self.updates = 0
        self.names = [name for name, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self.shadow = [p.detach().clone() for p in self.params]
        self.buffers = dict(model.named_buffers())  # none in PixelUNet; copied as they are

    @torch.no_grad()
    def update(self):
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_mul_(self.shadow, decay)
        torch._foreach_add_(self.shadow, [p.detach() for p in self.params], alpha=1.0 - decay)
        self.updates += 1

    def state_dict(self):
        state = {name: value.detach().cpu().clone() for name, value in zip(self.names, self.shadow)}
        state.update({name: value.detach().cpu().clone() for name, value in self.buffers.items()})
        return state


# --------------------------------------------------------------------------------------------
# Training


def train(name, ratio, args, images, labels, budget_seconds, device):
    """Train one model until the next iteration would pass its deadline; returns (EMA model, stats)."""
    torch.manual_seed(args.seed)  # both models start from the same weights and data stream
    model = PixelUNet().to(device)
    ema = ParameterEMA(model, EMA_DECAY)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=ADAM_BETAS)
    jvp = jvp_function(prefer_forward_ad=True)
    print(f"\n== {name}: r != t for {ratio:.0%} of pairs, batch {args.batch_size}, budget {budget_seconds:.0f} s", flush=True)

    started = time.perf_counter()
    deadline = started + budget_seconds
    iteration_seconds = None  # running estimate, used to stop *before* the deadline
    step, window_steps, window_started = 0, 0, started
    window_error = torch.zeros((), device=device)  # summed on-device: no host sync per iteration
    model.train()
    while True:
        iteration_started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = LEARNING_RATE * min(1.0, (step + 1) / WARMUP_ITERATIONS)
        rows = torch.randint(len(images), (args.batch_size,), device=device)
        loss, squared_error = meanflow_loss(model, jvp, images[rows], labels[rows], ratio, args.omega, args.kappa)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        ema.update()
        step += 1
        window_steps += 1
        window_error += squared_error

        now = time.perf_counter()
        elapsed = now - iteration_started
        # The first iteration carries start-up costs (cuDNN autotuning), so it only seeds the estimate.
        iteration_seconds = elapsed if iteration_seconds is None else 0.9 * iteration_seconds + 0.1 * elapsed
        finished = now + iteration_seconds > deadline
        if now - window_started >= LOG_EVERY_SECONDS or finished:
            synchronize(device)
            now = time.perf_counter()
            mean_error = float(window_error) / window_steps
            print(
                f"{name}  iteration {step:6d}  mean ||Δ||² {mean_error:8.3f}  "
                f"{window_steps / (now - window_started):6.2f} it/s  {now - started:6.1f} s",
                flush=True,
            )
            if not math.isfinite(mean_error):
                print(f"{name}: non-finite loss, stopping this training", flush=True)
                finished = True
            window_steps, window_started = 0, now
            window_error.zero_()
        if finished:
            break

    synchronize(device)
    seconds = time.perf_counter() - started
    ema_state = ema.state_dict()
    ema_model = PixelUNet().to(device)
    ema_model.load_state_dict(ema_state)
    stats = {
        "iterations": step,
        "train_seconds": round(seconds, 1),
        "iterations_per_second": round(step / seconds, 2),
        "final_mean_squared_error": round(mean_error, 3),
        "ema_state": ema_state,
    }
    print(f"{name}: {step} iterations in {seconds:.1f} s ({step / seconds:.2f} it/s)", flush=True)
    return ema_model.eval(), stats


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------------------------
# Sampling and evaluation


@torch.no_grad()
def sample(model, noise, labels, steps, use_interval):
    """Uniform grid 1 -> 0. MeanFlow: z_r = z_t − (t − r) u(z_t, r, t); Euler: r = t in the call."""
    grid = torch.linspace(1.0, 0.0, steps + 1).tolist()
    z = noise
    for t_value, r_value in zip(grid[:-1], grid[1:]):
        t = torch.full((len(z),), t_value, device=z.device)
        r = torch.full((len(z),), r_value, device=z.device) if use_interval else t
        z = z - (t_value - r_value) * model(z, r, t, labels)
    return z


@torch.no_grad()
def generate(model, noise, labels, steps, use_interval):
    """Images in [0, 1] (clipped), generated in batches."""
    batches = [
        sample(model, z, y, steps, use_interval) for z, y in zip(noise.split(EVAL_BATCH), labels.split(EVAL_BATCH))
    ]
    return ((torch.cat(batches) + 1.0) * 0.5).clamp(0.0, 1.0)


def load_classifier(path, device):
    classifier = Classifier()
    classifier.load_state_dict(torch.load(path, map_location="cpu"))
    return classifier.to(device).eval()


@torch.no_grad()
def classify(classifier, images):
    """(predicted labels, float64 features on the CPU) for images in [0, 1], in batches."""
    predicted, features = [], []
    for batch in images.split(EVAL_BATCH):
        logits, feats = classifier(batch)
        predicted.append(logits.argmax(dim=1).cpu())
        features.append(feats.double().cpu())
    return torch.cat(predicted), torch.cat(features)


def psd_sqrt(matrix):
    """Square root of a symmetric PSD matrix by eigen-decomposition (negative round-off clipped)."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0.0).sqrt()) @ vectors.T


def frechet_distance(features_a, features_b):
    """||μ_a − μ_b||² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), in float64.

    Tr (Σ_a Σ_b)^½ = Σ sqrt(eig(Σ_a^½ Σ_b Σ_a^½)): the latter matrix is symmetric PSD and similar
    to Σ_a Σ_b, so symmetric eigen-solvers suffice (no scipy.linalg.sqrtm needed).
    """
    if not (torch.isfinite(features_a).all() and torch.isfinite(features_b).all()):
        return None
    mu_a, mu_b = features_a.mean(dim=0), features_b.mean(dim=0)
    sigma_a, sigma_b = torch.cov(features_a.T), torch.cov(features_b.T)
    root_a = psd_sqrt(sigma_a)
    middle = root_a @ sigma_b @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) * 0.5).clamp(min=0.0).sqrt().sum()
    return float(((mu_a - mu_b) ** 2).sum() + torch.trace(sigma_a) + torch.trace(sigma_b) - 2.0 * trace_root)


def training_subset(count, seed):
    """The indices of the `count` training images evaluate_meanflow.py uses for its real-data floor."""
    return np.random.default_rng(seed).choice(60000, count, replace=False)


def reference_features(classifier, train_images, test_images, count, seed):
    """Features of the 10 000 test images and the floor FD (`count` training images vs test)."""
    _, test_features = classify(classifier, (test_images + 1.0) * 0.5)
    chosen = torch.from_numpy(training_subset(count, seed)).to(train_images.device)
    _, train_features = classify(classifier, (train_images[chosen] + 1.0) * 0.5)
    return test_features, frechet_distance(train_features, test_features)


def evaluation_inputs(count, seed, device):
    """Seeded noise with balanced, class-major labels; drawn on the CPU so every device sees the same."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(count // 10)
    noise = torch.randn(len(labels), 1, 28, 28, generator=generator)
    return noise.to(device), labels.to(device)


def evaluate(name, model, sampler, step_counts, inputs, grid_inputs, classifier, test_features, stats, out_dir):
    """One row per step count; writes the grids named in GRIDS."""
    noise, labels = inputs
    rows = []
    for steps in step_counts:
        started = time.perf_counter()
        images = generate(model, noise, labels, steps, use_interval=(sampler == "meanflow"))
        predicted, features = classify(classifier, images)
        fd = frechet_distance(features, test_features)
        row = {
            "model": name,
            "sampler": sampler,
            "steps": steps,
            "fd_fmnist": None if fd is None else round(fd, 3),
            "class_accuracy": round(float((predicted == labels.cpu()).double().mean()), 4),
            "iterations": stats["iterations"],
            "train_seconds": stats["train_seconds"],
            "params": parameter_count(model),
            "eval_seconds": round(time.perf_counter() - started, 2),
        }
        print(row, flush=True)
        rows.append(row)
        if (name, steps) in GRIDS:
            grid = generate(model, *grid_inputs, steps, use_interval=(sampler == "meanflow"))
            save_grid(out_dir / GRIDS[(name, steps)], grid.cpu())
    return rows


# --------------------------------------------------------------------------------------------
# Output


def write_png(path, pixels):
    """8-bit greyscale PNG from a uint8 [H, W] tensor, with zlib alone (no imaging library)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    height, width = pixels.shape
    raw = pixels.contiguous().numpy()
    scanlines = b"".join(b"\x00" + raw[row].tobytes() for row in range(height))  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, greyscale, no interlace
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines, 9)) + chunk(b"IEND", b""))


def save_grid(path, images, scale=2, padding=2):
    """[rows·10, 1, 28, 28] in [0, 1], class-major -> a row per class with white gaps, upscaled ×scale."""
    rows = len(images) // GRID_COLUMNS
    cell = 28 + padding
    canvas = torch.full((rows * cell + padding, GRID_COLUMNS * cell + padding), 255, dtype=torch.uint8)
    tiles = (images[:, 0] * 255).round().to(torch.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, GRID_COLUMNS)
        top, left = padding + row * cell, padding + column * cell
        canvas[top : top + 28, left : left + 28] = tile
    write_png(path, canvas.repeat_interleave(scale, dim=0).repeat_interleave(scale, dim=1))
    print(f"wrote {path}", flush=True)


def print_table(floor, rows):
    print(f"\nfloor: FD(train images, test images) = {floor:.3f}")
    print(f"{'model':20s} {'sampler':9s} {'steps':>5s} {'FD':>9s} {'class acc':>9s} {'iters':>7s} {'train s':>8s}")
    for row in rows:
        fd = "nan" if row["fd_fmnist"] is None else f"{row['fd_fmnist']:.3f}"
        print(
            f"{row['model']:20s} {row['sampler']:9s} {row['steps']:5d} {fd:>9s} {row['class_accuracy']:9.4f} "
            f"{row['iterations']:7d} {row['train_seconds']:8.1f}"
        )


# --------------------------------------------------------------------------------------------


def main():
    run_started = time.perf_counter()
    args = parse_args()
    check_data_dir(args.data_dir)
    device = configure(args)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    # Everything that can fail fast (data, classifier) is loaded before any training time is spent.
    train_images, train_labels = load_images(args.data_dir, "train", device)
    test_images, _ = load_images(args.data_dir, "test", device)
    classifier = load_classifier(args.classifier, device)
    test_features, floor = reference_features(classifier, train_images, test_images, args.eval_samples, args.seed)
    print(f"torch {torch.__version__} on {describe(device)}; floor FD(train, test) = {floor:.3f} "
          f"({args.eval_samples} training images); setup {time.perf_counter() - run_started:.1f} s", flush=True)

    budget = args.minutes * 60.0 * args.train_share
    settings = [("pixel-meanflow", MEANFLOW_RATIO, "meanflow", MEANFLOW_STEPS), ("pixel-flowmatching", 0.0, "euler", EULER_STEPS)]
    trained = []
    for name, ratio, sampler, step_counts in settings:
        model, stats = train(name, ratio, args, train_images, train_labels, budget, device)
        torch.save(stats.pop("ema_state"), out_dir / f"{name}.pt")
        trained.append((name, ratio, sampler, step_counts, model, stats))

    # The same noise and labels for every setting, so differences come from the models and samplers.
    inputs = evaluation_inputs(args.eval_samples, args.seed, device)
    grid_inputs = evaluation_inputs(10 * GRID_COLUMNS, args.seed + 1, device)
    rows, training = [], {}
    for name, ratio, sampler, step_counts, model, stats in trained:
        rows += evaluate(name, model, sampler, step_counts, inputs, grid_inputs, classifier, test_features, stats, out_dir)
        training[name] = {"ratio_r_not_t": ratio, **stats}

    results = {
        "samples_per_setting": args.eval_samples,
        "reference": "features of the 10 000 Fashion-MNIST test images",
        "seed": args.seed,
        "floors": {"train_vs_test": round(floor, 3)},
        "config": {
            "minutes": args.minutes,
            "train_share": args.train_share,
            "batch_size": args.batch_size,
            "omega": args.omega,
            "kappa": args.kappa,
            "class_dropout": CLASS_DROPOUT,
            "time_sampler": IMAGENET_TIMES.describe(),
            "adaptive_weight": {"p": ADAPTIVE_POWER, "c": ADAPTIVE_EPS},
            "learning_rate": LEARNING_RATE,
            "adam_betas": list(ADAM_BETAS),
            "warmup_iterations": WARMUP_ITERATIONS,
            "grad_clip": GRAD_CLIP,
            "ema_decay": EMA_DECAY,
            "precision": "fp32 (TF32 matmul/conv on CUDA)",
        },
        "training": training,
        "environment": {"torch": torch.__version__, "device": describe(device), "python": sys.version.split()[0]},
        "total_seconds": round(time.perf_counter() - run_started, 1),
        "results": rows,
    }
    (out_dir / RESULTS_NAME).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out_dir / RESULTS_NAME}")
    print_table(floor, rows)
    print(f"total {time.perf_counter() - run_started:.1f} s")


def describe(device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


if __name__ == "__main__":
    main()
