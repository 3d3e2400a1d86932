"""Data: MNIST-1D generation and cache, CIFAR archives (fabricated in the official format,
served through file:// so the real download path runs), and on-device augmentation."""

import random

import numpy as np
import pytest
import torch

from distancing import data as data_module
from distancing.data import (
    DataError,
    augment,
    load_dataset,
    load_mnist1d,
    mnist1d_arguments,
    random_crop,
    random_flip,
)


def test_mnist1d_has_the_standard_split(data_root):
    d = load_mnist1d(data_root)
    assert d.x_train.shape == (4000, 1, 40) and d.x_val.shape == (1000, 1, 40)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert set(d.y_train.unique().tolist()) == set(range(10))
    assert mnist1d_arguments()["seed"] == 42


def test_written_out_arguments_are_the_packages_standard_ones():
    from mnist1d.data import get_dataset_args

    standard = get_dataset_args(as_dict=True)
    standard.pop("url")
    assert mnist1d_arguments() == standard


def test_mnist1d_generation_is_identical_and_leaves_global_rngs_alone(tmp_path, data_root):
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.rand())
    random.seed(123)
    np.random.seed(123)
    fresh = load_mnist1d(tmp_path)  # generates anew (make_dataset reseeds the globals)
    assert (random.random(), np.random.rand()) == expected
    cached = load_mnist1d(data_root)
    assert torch.equal(fresh.x_train, cached.x_train) and torch.equal(fresh.y_val, cached.y_val)
    files = list(tmp_path.glob("mnist1d-*.npz"))
    assert len(files) == 1  # keyed by the generation arguments; nothing else left behind
    assert list(tmp_path.iterdir()) == files


def test_train_samples_keeps_the_first_samples(data_root):
    full = load_dataset("mnist1d", data_root)
    part = load_dataset("mnist1d", data_root, train_samples=100)
    assert torch.equal(part.x_train, full.x_train[:100]) and torch.equal(part.x_val, full.x_val)
    with pytest.raises(DataError, match="data.train_samples: 5000 exceeds the 4000"):
        load_dataset("mnist1d", data_root, train_samples=5000)


def test_ensemble_validation_extends_the_split_with_samples_never_trained_on(data_root):
    full = load_dataset("mnist1d", data_root)
    part = load_dataset("mnist1d", data_root, train_samples=1000, ensemble_val_samples=2500)
    assert torch.equal(part.x_train, full.x_train[:1000]) and torch.equal(part.x_val, full.x_val)
    assert torch.equal(part.x_extra, full.x_train[1000:2500]) and torch.equal(part.y_extra, full.y_train[1000:2500])
    with pytest.raises(DataError, match=r"^data.ensemble_val_samples: 999 is outside 1000..4000 "):
        load_dataset("mnist1d", data_root, train_samples=1000, ensemble_val_samples=999)


def test_ensemble_validation_beyond_the_unused_samples_is_fresh_from_the_generator(data_root):
    """Past the training samples never trained on come sequences the generator draws with
    another seed: all of them held out, none equal to a training or validation sequence."""
    full = load_dataset("mnist1d", data_root)
    more = load_dataset("mnist1d", data_root, train_samples=1000, ensemble_val_samples=4600)
    assert len(more.y_extra) == 3600 and torch.equal(more.x_extra[:3000], full.x_train[1000:])
    fresh = more.x_extra[3000:].flatten(1)
    seen = torch.cat([full.x_train, full.x_val]).flatten(1)
    assert torch.cdist(fresh, seen).min() > 0
    assert sorted(more.y_extra[3000:].unique().tolist()) == list(range(10))


@pytest.mark.parametrize("name,classes", [("cifar10", 10), ("cifar100", 100)])
def test_cifar_archive_is_downloaded_verified_and_parsed(tmp_path, served_archive, name, classes):
    contents, label_key, _ = served_archive(name)
    root = tmp_path / "data"
    d = load_dataset(name, root)
    assert d.x_train.shape == (30, 3, 32, 32) and d.x_train.dtype == torch.uint8
    assert d.x_val.shape == (5, 3, 32, 32) and d.num_classes == classes
    first = next(iter(contents.values()))
    assert np.array_equal(d.x_train[0].numpy().reshape(-1), first[b"data"][0])  # row-major R, G, B planes
    test = contents[[m for m in contents if "test" in m][0]]
    assert d.y_val.tolist() == test[label_key]
    assert len(list(root.glob("*.tar.gz"))) == 1 and not list(root.glob("*.part"))
    # Normalised on the fly with the CIFAR statistics.
    x = d.prepare(d.x_train[:2])
    assert x.dtype == torch.float32
    expected = (d.x_train[:2, 0].float() / 255 - data_module.CIFAR_MEAN[name][0]) / data_module.CIFAR_STD[name][0]
    assert torch.allclose(x[:, 0], expected)


def test_second_load_uses_the_downloaded_archive(tmp_path, served_archive, monkeypatch):
    served_archive("cifar10")
    load_dataset("cifar10", tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("downloaded twice")

    monkeypatch.setattr(data_module.urllib.request, "urlopen", no_network)
    assert load_dataset("cifar10", tmp_path).x_train.shape[0] == 30


def test_wrong_checksum_deletes_the_file_and_names_both_hashes(tmp_path, served_archive):
    _, _, actual = served_archive("cifar10", md5="0" * 32)
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", tmp_path)
    message = str(error.value)
    path = tmp_path / "cifar-10-python.tar.gz"
    assert str(path) in message and "0" * 32 in message and actual in message
    assert not path.exists()


def test_failed_download_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    spec = dict(data_module.CIFAR_ARCHIVES["cifar10"], url=(tmp_path / "missing.tar.gz").as_uri())
    monkeypatch.setitem(data_module.CIFAR_ARCHIVES, "cifar10", spec)
    with pytest.raises(DataError, match="cifar-10-python.tar.gz: download from .* failed"):
        load_dataset("cifar10", tmp_path / "data")
    assert list((tmp_path / "data").iterdir()) == []


def test_random_crop_is_a_shifted_window_of_the_zero_padded_input():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(1, 2 * 3 * 8 * 8 + 1, dtype=torch.float32).view(2, 3, 8, 8)
    out = random_crop(x, 4, torch.Generator().manual_seed(0))
    offsets = torch.randint(0, 9, (2, 2), generator=g)  # same draw as inside random_crop
    padded = torch.nn.functional.pad(x, [4, 4, 4, 4])
    for i in range(2):
        dy, dx = offsets[0, i].item(), offsets[1, i].item()
        assert torch.equal(out[i], padded[i, :, dy : dy + 8, dx : dx + 8])
    sequence = torch.arange(1, 11, dtype=torch.float32).view(1, 1, 10)
    shifted = random_crop(sequence, 2, torch.Generator().manual_seed(3))
    nonzero = shifted[shifted != 0]
    assert shifted.shape == (1, 1, 10) and torch.equal(nonzero, torch.arange(nonzero[0].item(), nonzero[-1].item() + 1))


def test_flip_mirrors_about_half_the_images_and_augment_keeps_shapes():
    x = torch.randn(1000, 3, 4, 4)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert torch.all(flipped | kept) and 400 < flipped.sum().item() < 600
    assert augment(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.Generator()).dtype == torch.uint8
    assert augment(torch.zeros(4, 1, 40), torch.Generator()).shape == (4, 1, 40)


def test_prepare_generates_the_fresh_held_out_sequences_once_before_any_run(tmp_path, capsys):
    """`distancing prepare` with the base config's held-out count writes the generator's fresh
    sequences beside MNIST-1D, so that no training run generates them."""
    from distancing.cli import main

    assert main(["prepare", "mnist1d", "--root", str(tmp_path), "--train-samples", "1000", "--held-out", "4600"]) == 0
    assert "(and 3600 more held out for ensembles)" in capsys.readouterr().out
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 2
