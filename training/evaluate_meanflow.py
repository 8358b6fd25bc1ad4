#!/usr/bin/python3
"""Evaluate the Fashion-MNIST generators: FD-FMNIST, class accuracy and sample grids.

    /usr/bin/python3 training/evaluate_meanflow.py [--samples 5000]        (npm run eval:meanflow)
    /usr/bin/python3 training/evaluate_meanflow.py --checkpoints NAME,NAME --out FILE  (scores only)

For each setting (MeanFlow at 1 and 2 NFE; flow matching with 1 … 32 Euler steps) it draws the same
seeded noise and balanced class labels, samples latents exactly as the server does, decodes them with
the served decoder graph and scores the images with the served evaluation classifier. The served
networks are read back from their ONNX files (served_weights.py), so the scores are those of what is
served, on any machine and in a fresh clone; --checkpoints scores training checkpoints instead (in the
checkpointed autoencoder's latent space):
  FD-FMNIST       Fréchet distance between Gaussians fitted to classifier features (256-d) of the
                  samples and of the 10 000 test images; floors: real training images, and
                  autoencoder reconstructions of training images (the best a latent generator can do).
  FD, second      the same distance in the 192-d pooled features of a second classifier with another
                  architecture, seed and augmentation (train_second_classifier.py), which no
                  generator was trained or selected against; skipped when it has not been trained.
  class accuracy  how often the classifier's top class is the class that was asked for.
Writes training/results/meanflow_eval.json, the PNG grids under docs/, and merges the numbers into
the flows' metrics.json and manifest entries. The reconstruction floors need the served decoder's
encoder (training/checkpoints/autoencoder.pt of the same training); without it they are skipped.
"""

import argparse
import json
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

import fmnist_data
from manifest_update import MODELS_DIR, merge_metrics, write_json
from meanflow import sample_average_velocity, sample_euler
from model_export import PARITY_TOLERANCE, configure_torch
from networks import LATENT_DIM, Classifier, Decoder, Encoder, SecondClassifier, ServedDecoder, VelocityNet
from served_weights import load_served

TRAINING_DIR = Path(__file__).resolve().parent
CHECKPOINT_DIR = TRAINING_DIR / "checkpoints"
RESULTS = TRAINING_DIR / "results" / "meanflow_eval.json"
DOCS_DIR = TRAINING_DIR.parent / "docs"

# (model or checkpoint name, sampler, step counts, whether the model is served)
STEP_COUNTS = {"meanflow": [1, 2], "euler": [1, 2, 4, 8, 16, 32]}
SETTINGS = [
    ("meanflow-fmnist", "meanflow", STEP_COUNTS["meanflow"], True),
    ("flowmatching-fmnist", "euler", STEP_COUNTS["euler"], True),
]
DECODER = "fmnist-ae-decoder"
SAMPLERS = {"meanflow": sample_average_velocity, "euler": sample_euler}
GRIDS = {
    ("meanflow-fmnist", 1): "meanflow-1nfe.png",
    ("meanflow-fmnist", 2): "meanflow-2nfe.png",
    ("flowmatching-fmnist", 1): "flowmatching-1step.png",
    ("flowmatching-fmnist", 32): "flowmatching-32steps.png",
}
GRID_COLUMNS = 10
BATCH = 1000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5000, help="generated images per setting (a multiple of 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--checkpoints",
        help="comma-separated checkpoint names under training/checkpoints to evaluate instead of the served "
        "models (e.g. training-length stages); scored only: no grids, no metrics published",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    return parser.parse_args()


def settings(checkpoints):
    """(name, sampler, step counts, served) per flow; a named checkpoint gets its kind's step counts."""
    if checkpoints is None:
        return SETTINGS
    chosen = []
    for name in checkpoints.split(","):
        kind = "meanflow" if torch.load(CHECKPOINT_DIR / f"{name}.pt")["ratio"] > 0 else "euler"
        chosen.append((name, kind, STEP_COUNTS[kind], False))
    return chosen


def trained_autoencoder():
    """(encoder, decoder as served) from training/checkpoints, or None when the autoencoder was not trained here."""
    if not (CHECKPOINT_DIR / "autoencoder.pt").exists():
        return None
    autoencoder = torch.load(CHECKPOINT_DIR / "autoencoder.pt")
    latents = torch.load(CHECKPOINT_DIR / "fmnist-latents.pt")
    encoder, decoder = Encoder(), Decoder()
    encoder.load_state_dict(autoencoder["encoder"])
    decoder.load_state_dict(autoencoder["decoder"])
    return encoder.eval(), ServedDecoder(decoder, latents["mean"], latents["std"]).eval()


def load_latent_space(served):
    """(encoder or None, decoder). The encoder is needed only for the reconstruction floors.

    Served models decode through the served decoder's weights; its encoder is the checkpoint's only when that
    checkpoint's decoder is the served one (a retraining of another recipe or seed is not). Checkpoints
    decode through the checkpointed autoencoder, the latent space they were trained in.
    """
    trained = trained_autoencoder()
    if not served:
        if trained is None:
            raise SystemExit(f"no autoencoder checkpoint in {CHECKPOINT_DIR}: npm run train:autoencoder")
        return trained
    decoder = load_served(DECODER, ServedDecoder(Decoder(), torch.zeros(LATENT_DIM), torch.ones(LATENT_DIM)))
    if trained is not None and same_weights(trained[1], decoder):
        return trained[0], decoder
    print(f"no checkpoint of the served {DECODER}'s encoder: the reconstruction floors are skipped")
    return None, decoder


def same_weights(module_a, module_b):
    """Equal up to float rounding (the parity tolerance): a retraining on another CPU lands ~1e-6 away."""
    state_a, state_b = module_a.state_dict(), module_b.state_dict()
    return state_a.keys() == state_b.keys() and all(
        float((state_a[k] - state_b[k]).abs().max()) <= PARITY_TOLERANCE for k in state_a
    )


def load_extractors():
    """{score name: classifier}: the served `fmnist-classifier` always; the second classifier when it has been trained."""
    extractors = {"fd_fmnist": load_served("fmnist-classifier", Classifier())}
    second = CHECKPOINT_DIR / "second-classifier.pt"
    if second.exists():
        extractors["fd_second"] = SecondClassifier()
        extractors["fd_second"].load_state_dict(torch.load(second))
        extractors["fd_second"].eval()
    else:
        print(f"no {second}: FD in the second classifier's features is skipped (npm run train:second-classifier)")
    return extractors


def load_flow(name, served):
    """(network, {"ratio", "step"}): a served flow's own weights, or a checkpoint's EMA weights; (None, None) when absent."""
    if served:
        metrics = json.loads((MODELS_DIR / name / "metrics.json").read_text())
        return load_served(name, VelocityNet()), {"ratio": metrics["ratio_r_not_t"], "step": metrics["iterations"]}
    path = CHECKPOINT_DIR / f"{name}.pt"
    if not path.exists():
        return None, None
    state = torch.load(path)
    model = VelocityNet()
    model.load_state_dict(state["ema"]["shadow"])
    return model.eval(), state


@torch.no_grad()
def classify(classifier, images):
    """(predicted labels, float64 features) for images in [0, 1], in batches."""
    labels, features = [], []
    for batch in images.split(BATCH):
        logits, feats = classifier(batch)
        labels.append(logits.argmax(dim=1))
        features.append(feats.double())
    return torch.cat(labels).numpy(), torch.cat(features).numpy()


def frechet_distance(features_a, features_b):
    """||μ_a − μ_b||² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), the FID formula on our classifier's features."""
    mu_a, mu_b = features_a.mean(axis=0), features_b.mean(axis=0)
    sigma_a, sigma_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    covariance_mean, _ = linalg.sqrtm(sigma_a @ sigma_b, disp=False)
    # sqrtm of a product of PSD matrices is real in exact arithmetic; drop round-off imaginary parts.
    covariance_mean = covariance_mean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a + sigma_b - 2.0 * covariance_mean))


@torch.no_grad()
def generate(flow, sampler, steps, noise, labels, decoder):
    images = [decoder(sampler(flow, z, y, steps)) for z, y in zip(noise.split(BATCH), labels.split(BATCH))]
    return torch.cat(images)


def write_png(path, pixels):
    """8-bit greyscale PNG from a uint8 [H, W] array (no imaging library needed)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    height, width = pixels.shape
    rows = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def save_grid(path, images, scale=2, padding=2):
    """images [classes * columns, 1, 28, 28] in [0, 1], class-major -> one row per class, white gaps."""
    rows = len(images) // GRID_COLUMNS
    cell = 28 + padding
    canvas = np.full((rows * cell + padding, GRID_COLUMNS * cell + padding), 255, dtype=np.uint8)
    tiles = (images[:, 0].clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, GRID_COLUMNS)
        canvas[padding + row * cell : padding + row * cell + 28, padding + column * cell : padding + column * cell + 28] = tile
    write_png(path, np.kron(canvas, np.ones((scale, scale), dtype=np.uint8)))
    print(f"wrote {path}")


def reconstruct(encoder, decoder, images):
    """Autoencoder reconstructions of images in [0, 1]."""
    with torch.no_grad():
        latents = torch.cat([encoder(batch * 2 - 1) for batch in images.split(BATCH)])
        standardised = (latents - decoder.latent_mean) / decoder.latent_std
        return torch.cat([decoder(z) for z in standardised.split(BATCH)])


def floors_and_test_features(extractors, encoder, decoder, count, seed):
    """Per extractor: the test images' features (every FD's reference) and the floors: `count` random training
    images, and (with an encoder) their autoencoder reconstructions."""
    test_uint8, _ = fmnist_data.load_split("test")
    train_uint8, _ = fmnist_data.load_split("train")
    chosen = np.random.default_rng(seed).choice(len(train_uint8), count, replace=False)
    test = torch.from_numpy(fmnist_data.to_unit_range(test_uint8))
    train = torch.from_numpy(fmnist_data.to_unit_range(train_uint8[chosen]))
    reconstructions = None if encoder is None else reconstruct(encoder, decoder, train)
    test_features, floors = {}, {}
    for score, extractor in extractors.items():
        test_features[score] = classify(extractor, test)[1]
        floors[score] = {"train_vs_test": round(frechet_distance(classify(extractor, train)[1], test_features[score]), 3)}
        if reconstructions is not None:
            floors[score]["autoencoder_reconstructions_vs_test"] = round(
                frechet_distance(classify(extractor, reconstructions)[1], test_features[score]), 3
            )
    return test_features, floors


def reconstruction_accuracy(classifier, encoder, decoder):
    """Class accuracy on autoencoder reconstructions of the 10 000 test images (the real ones score the test accuracy)."""
    test_uint8, test_labels = fmnist_data.load_split("test")
    reconstructions = reconstruct(encoder, decoder, torch.from_numpy(fmnist_data.to_unit_range(test_uint8)))
    predicted, _ = classify(classifier, reconstructions)
    return float((predicted == test_labels).mean())


def evaluate_setting(flow, sampler_name, steps, noise, labels, decoder, extractors, test_features):
    """FD in every extractor's features; class accuracy by `fmnist-classifier`, the served one."""
    started = time.perf_counter()
    images = generate(flow, SAMPLERS[sampler_name], steps, noise, labels, decoder)
    scores = {}
    for score, extractor in extractors.items():
        predicted, features = classify(extractor, images)
        scores[score] = round(frechet_distance(features, test_features[score]), 3)
        if score == "fd_fmnist":
            scores["class_accuracy"] = round(float((predicted == labels.numpy()).mean()), 4)
    return images, {**scores, "seconds": round(time.perf_counter() - started, 2)}


def publish_metrics(name, rows, samples):
    """Merge a served flow's scores into its metrics.json and manifest entry, keyed by step count."""
    metrics = {
        "eval_samples": samples,
        "fd_fmnist_by_steps": {str(row["steps"]): row["fd_fmnist"] for row in rows},
        "class_accuracy_by_steps": {str(row["steps"]): row["class_accuracy"] for row in rows},
        **({"fd_second_classifier_by_steps": {str(row["steps"]): row["fd_second"] for row in rows}} if "fd_second" in rows[0] else {}),
    }
    path = MODELS_DIR / name / "metrics.json"
    write_json(path, {**json.loads(path.read_text()), **metrics})
    merge_metrics(name, metrics)


def main():
    args = parse_args()
    configure_torch(args.seed)
    encoder, decoder = load_latent_space(served=args.checkpoints is None)
    extractors = load_extractors()
    test_features, floors_by_extractor = floors_and_test_features(extractors, encoder, decoder, args.samples, args.seed)
    floors = {
        **floors_by_extractor.pop("fd_fmnist"),
        **({} if encoder is None else {"reconstruction_class_accuracy": round(reconstruction_accuracy(extractors["fd_fmnist"], encoder, decoder), 4)}),
        **({"second_classifier": floors_by_extractor["fd_second"]} if "fd_second" in floors_by_extractor else {}),
    }
    print(f"floors: {floors}")

    # The same noise and labels for every setting, so differences come from the models and samplers.
    labels = torch.arange(10).repeat_interleave(args.samples // 10)
    # Its own generator: building the networks above draws from the global one.
    noise_stream = torch.Generator().manual_seed(args.seed)
    noise = torch.randn(len(labels), LATENT_DIM, generator=noise_stream)
    grid_labels = torch.arange(10).repeat_interleave(GRID_COLUMNS)
    grid_noise = torch.randn(len(grid_labels), LATENT_DIM, generator=noise_stream)

    results = []
    for name, sampler_name, step_counts, served in settings(args.checkpoints):
        flow, state = load_flow(name, served)
        if flow is None:
            print(f"skipping {name}: no checkpoint in {CHECKPOINT_DIR}")
            continue
        rows = []
        for steps in step_counts:
            _, scores = evaluate_setting(flow, sampler_name, steps, noise, labels, decoder, extractors, test_features)
            row = {"model": name, "ratio_r_not_t": state["ratio"], "iterations": state["step"],
                   "sampler": sampler_name, "steps": steps, **scores}
            print(row, flush=True)
            rows.append(row)
            if served and (name, steps) in GRIDS:
                grid = generate(flow, SAMPLERS[sampler_name], steps, grid_noise, grid_labels, decoder)
                save_grid(DOCS_DIR / GRIDS[(name, steps)], grid)
        results.extend(rows)
        if served:
            publish_metrics(name, rows, args.samples)

    args.out.parent.mkdir(exist_ok=True)
    write_json(
        args.out,
        {
            "samples_per_setting": args.samples,
            "reference": "features of the 10 000 Fashion-MNIST test images",
            "seed": args.seed,
            "classifier_test_accuracy": json.loads((MODELS_DIR / "fmnist-classifier" / "metrics.json").read_text())["test_accuracy"],
            "floors": floors,
            "results": results,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
