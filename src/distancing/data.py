"""Datasets as tensors on the training device, and augmentation on that device.

MNIST-1D is generated offline (bit-identical on every machine) and cached as ``.npz``.
CIFAR-10/100 come from the official python archives: downloaded once, MD5-verified,
parsed straight from the tar file. The whole split is moved to the device once; batches are
index slices of it, so the data path never touches the host during training.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import ConfigError
from .files import atomic_save_npz

# Official archives (https://www.cs.toronto.edu/~kriz/cifar.html) and their published MD5s.
CIFAR_ARCHIVES = {
    "cifar10": {
        "file": "cifar-10-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "md5": "c58f30108f718f92721af3b95e74349a",
        "train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
        "test": ["cifar-10-batches-py/test_batch"],
        "labels": b"labels",
        "classes": 10,
    },
    "cifar100": {
        "file": "cifar-100-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "md5": "eb9058c3a382ffc7106e4002c42a8d85",
        "train": ["cifar-100-python/train"],
        "test": ["cifar-100-python/test"],
        "labels": b"fine_labels",
        "classes": 100,
    },
}
# Per-channel statistics of the CIFAR training sets, used to normalise uint8 images on the fly.
CIFAR_MEAN = {"cifar10": (0.4914, 0.4822, 0.4465), "cifar100": (0.5071, 0.4865, 0.4409)}
CIFAR_STD = {"cifar10": (0.2470, 0.2435, 0.2616), "cifar100": (0.2673, 0.2564, 0.2762)}


class DataError(ConfigError):
    """A data file is missing, corrupt or cannot be fetched; the message names the file.

    An input error like a bad config value: the command line reports it as one line, exit 2."""


@dataclass
class Dataset:
    """One train/validation split held on a device.

    Images stay uint8 and are normalised per batch (4x less memory than float32); MNIST-1D is
    already standardised float32. ``dim`` is the number of spatial dimensions (1 or 2).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    # More held-out samples that only ensemble members are scored on (``extend_validation``).
    x_extra: torch.Tensor | None = None
    y_extra: torch.Tensor | None = None

    @property
    def dim(self) -> int:
        return self.x_train.dim() - 2

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    def to(self, device: torch.device | str) -> Dataset:
        move = {k: getattr(self, k) for k in ("x_train", "y_train", "x_val", "y_val", "mean", "std", "x_extra",
                                              "y_extra")}
        move = {k: (v.to(device) if v is not None else None) for k, v in move.items()}
        return Dataset(self.name, num_classes=self.num_classes, **move)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Turn stored samples into network input (uint8 images to normalised float)."""
        if self.mean is None:
            return x
        return (x.float() / 255.0 - self.mean) / self.std


# ---------------------------------------------------------------- MNIST-1D


# The standard generation arguments of MNIST-1D (mnist1d.data.get_dataset_args: 4000 train /
# 1000 test sequences of length 40, seed 42), written out so that finding the cache does not
# import mnist1d (1.5 s per run); a test keeps them equal to the package's.
MNIST1D_ARGUMENTS = {
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60], "scale_coeff": 0.4,
    "max_translation": 48, "corr_noise_scale": 0.25, "iid_noise_scale": 2e-2, "shear_scale": 0.75,
    "shuffle_seq": False, "final_seq_length": 40, "seed": 42,
}


def mnist1d_arguments(seed: int = 42, num_samples: int = 5000) -> dict:
    """The generation arguments, with the seed and the sample count replaceable."""
    return dict(MNIST1D_ARGUMENTS, seed=seed, num_samples=num_samples)


def load_mnist1d(root: str | Path, **arguments) -> Dataset:
    """Generate MNIST-1D (or read the cache keyed by the generation arguments)."""
    args = mnist1d_arguments(**arguments)
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(root) / f"mnist1d-{key}.npz"
    if not path.exists():
        arrays = _generate_mnist1d(args)
        atomic_save_npz(path, **arrays)
    with np.load(path) as f:
        x, y, x_test, y_test = f["x"], f["y"], f["x_test"], f["y_test"]
    as_tensor = lambda a: torch.from_numpy(a.astype(np.float32)).unsqueeze(1)  # noqa: E731
    return Dataset("mnist1d", as_tensor(x), torch.from_numpy(y.astype(np.int64)),
                   as_tensor(x_test), torch.from_numpy(y_test.astype(np.int64)), num_classes=10)


def _generate_mnist1d(args: dict) -> dict[str, np.ndarray]:
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    # make_dataset reseeds the global random/numpy generators; leave them as we found them.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {k: data[k] for k in ("x", "y", "x_test", "y_test")}


# ---------------------------------------------------------------- CIFAR


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_cifar_archive(name: str, root: str | Path) -> Path:
    """Download the official archive once into ``root`` and verify its published MD5.

    A file with the wrong checksum is deleted, and the error names it and both hashes.
    """
    spec = CIFAR_ARCHIVES[name]
    root = Path(root)
    path = root / spec["file"]
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=path.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(spec["url"], timeout=60) as response:
                shutil.copyfileobj(response, out)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise DataError(f"{path}: download from {spec['url']} failed ({exc}); "
                            f"place the official archive there by hand") from None
    actual = md5sum(path)
    if actual != spec["md5"]:
        path.unlink()
        raise DataError(f"{path}: MD5 mismatch, expected {spec['md5']} but got {actual}; the file was deleted")
    return path


def _read_batches(archive: tarfile.TarFile, members: list[str], label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for member in members:
        handle = archive.extractfile(member)
        if handle is None:
            raise DataError(f"{archive.name}: {member} is not a file")
        batch = pickle.load(io.BytesIO(handle.read()), encoding="bytes")
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_cifar(name: str, root: str | Path) -> Dataset:
    """CIFAR-10 or CIFAR-100 as uint8 tensors (N, 3, 32, 32), from the verified archive."""
    spec = CIFAR_ARCHIVES[name]
    path = fetch_cifar_archive(name, root)
    try:
        with tarfile.open(path, "r:gz") as archive:
            x, y = _read_batches(archive, spec["train"], spec["labels"])
            x_test, y_test = _read_batches(archive, spec["test"], spec["labels"])
    except (tarfile.TarError, KeyError, pickle.UnpicklingError) as exc:
        raise DataError(f"{path}: not a valid {name} archive ({exc})") from None
    return Dataset(name, torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(x_test),
                   torch.from_numpy(y_test), num_classes=spec["classes"],
                   mean=torch.tensor(CIFAR_MEAN[name]).view(1, 3, 1, 1),
                   std=torch.tensor(CIFAR_STD[name]).view(1, 3, 1, 1))


# ---------------------------------------------------------------- entry point and augmentation


def load_dataset(name: str, root: str | Path, train_samples: int | None = None,
                 ensemble_val_samples: int | None = None) -> Dataset:
    """Load a dataset by its config name, optionally keeping only the first ``train_samples``,
    and optionally scoring ensemble members on ``ensemble_val_samples`` (``extend_validation``)."""
    data = load_mnist1d(root) if name == "mnist1d" else load_cifar(name, root)
    if train_samples is not None:
        if train_samples > len(data.y_train):
            raise DataError(f"data.train_samples: {train_samples} exceeds the {len(data.y_train)} "
                            f"training samples of {name}")
        unused = data.x_train[train_samples:], data.y_train[train_samples:]
        data.x_train, data.y_train = data.x_train[:train_samples], data.y_train[:train_samples]
        if ensemble_val_samples is not None:
            extend_validation(data, *unused, ensemble_val_samples, name, root)
    return data


# MNIST-1D's generator makes as many fresh held-out sequences as a comparison needs: drawn with
# another generator seed than the dataset's 42, they are disjoint from training and validation.
FRESH_MNIST1D_SEED = 43


def extend_validation(data: Dataset, x_unused: torch.Tensor, y_unused: torch.Tensor, total: int, name: str,
                      root: str | Path) -> None:
    """Ensemble members are scored on the validation split, then the training samples after
    ``train_samples``, which no run trains on, then (MNIST-1D only) fresh sequences from the
    generator, up to ``total`` in all: a larger held-out set narrows the sampling noise of a
    paired ensemble comparison (about √(p/n) for a fraction p of samples on which two predictors
    differ) at the cost of evaluating members only. The training samples themselves are
    unchanged. Per-epoch curves stay on the validation split."""
    extra = total - len(data.y_val)
    fresh = max(0, extra - len(y_unused))
    if extra < 0 or (fresh and name != "mnist1d"):
        raise DataError(f"data.ensemble_val_samples: {total} is outside {len(data.y_val)}.."
                        f"{len(data.y_val) + len(y_unused)} (the validation split of {name} plus the "
                        f"{len(y_unused)} training samples after data.train_samples)")
    x_extra, y_extra = x_unused[:extra], y_unused[:extra]
    if fresh:
        generated = load_mnist1d(root, seed=FRESH_MNIST1D_SEED, num_samples=fresh)
        x_extra = torch.cat([x_extra, generated.x_train, generated.x_val])
        y_extra = torch.cat([y_extra, generated.y_train, generated.y_val])
    data.x_extra, data.y_extra = x_extra, y_extra


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding, one offset per sample, for 1-D or 2-D batches."""
    n, c, *spatial = x.shape
    k = len(spatial)
    padded = torch.nn.functional.pad(x, [padding] * (2 * k))
    offsets = torch.randint(0, 2 * padding + 1, (k, n), device=x.device, generator=generator)
    # Broadcast index tensors: sample, channel, then the cropped positions along each axis.
    index = [torch.arange(n, device=x.device).view(n, *[1] * (k + 1)),
             torch.arange(c, device=x.device).view(1, c, *[1] * k)]
    for d, size in enumerate(spatial):
        shape = [n, 1] + [1] * k
        shape[2 + d] = size
        index.append((offsets[d][:, None] + torch.arange(size, device=x.device)).view(shape))
    return padded[tuple(index)]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Horizontal flip of half the images (2-D only)."""
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The standard augmentation: 4-pixel random crop, plus horizontal flip for images."""
    x = random_crop(x, 4, generator)
    return random_flip(x, generator) if x.dim() == 4 else x
