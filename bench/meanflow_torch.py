"""PyTorch eager timing of the MeanFlow velocity network (training/networks.py), for bench/meanflow.ts.

Same network shape, batch and thread count as the ONNX model timed in onnxruntime-node; the weights are
the EMA checkpoint when present (timing does not depend on them). Prints one JSON line.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "training"))
from networks import LATENT_DIM, VelocityNet  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = VelocityNet().eval()
    z = torch.randn(args.batch, LATENT_DIM)
    r = torch.full((args.batch,), 0.25)
    t = torch.full((args.batch,), 0.75)
    y = torch.full((args.batch,), 3, dtype=torch.long)
    with torch.no_grad():
        for _ in range(2):
            net(z, r, t, y)
        calls = 0
        started = time.perf_counter()
        while time.perf_counter() - started < args.seconds:
            net(z, r, t, y)
            calls += 1
        elapsed = time.perf_counter() - started
    print(json.dumps({"forwardsPerSecond": calls / elapsed, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
