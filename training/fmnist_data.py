"""Fashion-MNIST, read from Debian's dataset-fashion-mnist package; the one loader every script uses.

    apt-get install -y dataset-fashion-mnist     # idx files under /usr/share/datasets/fashion-mnist/

Images come back as uint8 [N, 28, 28] and labels as int64 [N]; the conversions below turn them into
the two ranges the models use: [0, 1] (what the served decoder emits and the classifier reads) and
[-1, 1] (what the autoencoder is trained on, matching its tanh output).
"""

import gzip
from pathlib import Path

import numpy as np

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (1, 28, 28)
VALIDATION_SIZE = 5000  # carved from the 60 000 training images, never from the test set

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read_idx(path, expected_magic):
    """Parse one gzipped idx file: a big-endian magic number, the dimension sizes, then uint8 data."""
    raw = gzip.open(path, "rb").read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path}: magic number {magic}, expected {expected_magic}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    """The official 'train' (60 000) or 'test' (10 000) split: (uint8 images [N,28,28], int64 labels [N])."""
    image_file, label_file = _FILES[split]
    images = _read_idx(DATA_DIR / image_file, 2051)
    labels = _read_idx(DATA_DIR / label_file, 2049).astype(np.int64)
    return images, labels


def train_validation_split(seed):
    """The training split divided into (train, validation) by a seeded permutation.

    Returns ((images, labels), (images, labels)); the validation part has VALIDATION_SIZE examples.
    """
    images, labels = load_split("train")
    order = np.random.default_rng(seed).permutation(len(labels))
    held, kept = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    return (images[kept], labels[kept]), (images[held], labels[held])


def to_unit_range(images):
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[:, None]


def to_signed_range(images):
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [-1, 1]."""
    return to_unit_range(images) * 2.0 - 1.0
