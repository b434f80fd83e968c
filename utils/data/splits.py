"""Split containers and stratified splitting: numpy's PCG64 generator only, so every
process, platform and framework gets byte-identical splits for the same seed.

:class:`TextSplits` / :class:`ImageSplits` hold train, validation and test parts;
``fingerprint()`` prints a 12-character digest of a split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from utils.config import SEED

#: The split names, in order. A wrong name gets an error listing these.
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
_SPLIT_NAMES = SPLIT_NAMES


def check_split_name(split: Any, argument: str = "split") -> str:
    """Return ``split`` if it is one of :data:`SPLIT_NAMES`, else raise a ``ValueError``
    that lists the valid names (``"valid"`` and ``"validation"`` are common slips)."""
    if split not in SPLIT_NAMES:
        hint = " (the validation split is called 'val')" if split in ("valid", "validation") else ""
        valid = ", ".join(map(repr, SPLIT_NAMES))
        raise ValueError(f"{argument}={split!r} is not a split name; use one of {valid}{hint}")
    return split


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
