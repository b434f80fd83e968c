"""Figures for the labs: matplotlib only, arrays in, :class:`~matplotlib.figure.Figure` out.

No function here calls ``plt.show()``: the lab decides when to display a figure (in a
notebook the figure returned by the last expression of a cell is shown). Both framework
twins of a lab draw their figures with the same functions, so their pages look alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

_TITLES = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "val_loss": "Validation loss",
    "val_accuracy": "Validation accuracy",
}


def _check_series(name: str, values: object) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of numbers, got shape {array.shape}"
        )
    return array


def plot_history(
    history: Mapping[str, Sequence[float]],
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Figure:
    """Draw learning curves: one panel per metric, training and validation side by side.

    Args:
        history: what ``tf_helpers.train`` / ``torch_helpers.train`` return, a dict of
            per-epoch lists such as ``{"loss": [...], "val_loss": [...], "accuracy": [...],
            "val_accuracy": [...]}``.
        metrics: the training metrics to draw; for each ``m`` the curve ``"val_" + m`` is
            added when the history holds it.
        title: an optional title over the whole figure.

    Returns:
        A figure with ``len(metrics)`` axes. When the history holds ``val_loss``, a dashed
        vertical line marks the epoch with the lowest validation loss (the weights that
        early stopping keeps).
    """
    if not metrics:
        raise ValueError("metrics must name at least one curve, e.g. ('loss', 'accuracy')")
    missing = [name for name in metrics if name not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it holds {sorted(history)}")
    best_epoch = None
    if "val_loss" in history:
        best_epoch = int(np.argmin(_check_series("history['val_loss']", history["val_loss"]))) + 1

    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
    for axis, name in zip(axes[0], metrics, strict=True):
        train = _check_series(f"history[{name!r}]", history[name])
        epochs = np.arange(1, train.size + 1)
        axis.plot(epochs, train, marker="o", label="training")
        if f"val_{name}" in history:
            val = _check_series(f"history['val_{name}']", history[f"val_{name}"])
            axis.plot(np.arange(1, val.size + 1), val, marker="o", label="validation")
        if best_epoch is not None:
            axis.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label="best epoch")
        axis.set_xlabel("epoch")
        axis.set_title(_TITLES.get(name, name))
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    normalize: bool = False,
    title: str | None = None,
) -> Figure:
    """Draw the confusion matrix of integer labels: rows are true classes, columns predictions.

    Args:
        y_true: true class ids, shape ``(N,)``, integers in ``[0, len(class_names))``.
        y_pred: predicted class ids, shape ``(N,)``.
        class_names: one name per class, in id order.
        normalize: show each row as fractions of that true class instead of counts.
        title: an optional axes title.

    Returns:
        A figure with one axes; every cell is annotated with its value.
    """
    true = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if true.ndim != 1 or pred.shape != true.shape:
        raise ValueError(
            f"y_true and y_pred must be 1-D with the same length, got {true.shape} and {pred.shape}"
        )
    if not np.issubdtype(true.dtype, np.integer) or not np.issubdtype(pred.dtype, np.integer):
        raise TypeError(
            f"y_true and y_pred must hold integer class ids, got {true.dtype} and {pred.dtype}; "
            "threshold probabilities first"
        )
    num_classes = len(class_names)
    if num_classes < 2:
        raise ValueError(f"class_names must name at least two classes, got {list(class_names)}")
    if true.size and (
        min(true.min(), pred.min()) < 0 or max(true.max(), pred.max()) >= num_classes
    ):
        raise ValueError(f"class ids must lie in [0, {num_classes}) to match class_names")

    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (true, pred), 1)
    values = counts.astype(float)
    if normalize:
        values = values / np.maximum(values.sum(axis=1, keepdims=True), 1)

    size = max(3.6, 0.55 * num_classes + 1.8)
    figure, axis = plt.subplots(figsize=(size + 0.8, size))
    image = axis.imshow(values, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    threshold = values.max() / 2 if values.size else 0
    for row in range(num_classes):
        for column in range(num_classes):
            value = values[row, column]
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            color = "white" if value > threshold else "black"
            axis.text(column, row, text, ha="center", va="center", color=color, fontsize=9)
    axis.set_xticks(range(num_classes), labels=list(class_names), rotation=45, ha="right")
    axis.set_yticks(range(num_classes), labels=list(class_names))
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(
        title or ("Confusion matrix (row fractions)" if normalize else "Confusion matrix")
    )
    figure.tight_layout()
    return figure


def compare_histories(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    metrics: Sequence[str] = ("val_loss", "val_accuracy"),
    title: str | None = None,
) -> Figure:
    """Draw several training runs side by side: one panel per metric, one line per run.

    Args:
        histories: run name -> history dict (as returned by ``train``), e.g.
            ``{"random embeddings": history_a, "pretrained embeddings": history_b}``.
        metrics: the history keys to compare, one panel each.
        title: an optional title over the whole figure.

    Returns:
        A figure with ``len(metrics)`` axes holding ``len(histories)`` lines each.
    """
    if not histories:
        raise ValueError("histories must hold at least one run")
    if not metrics:
        raise ValueError("metrics must name at least one curve, e.g. ('val_loss', 'val_accuracy')")
    for run, history in histories.items():
        missing = [name for name in metrics if name not in history]
        if missing:
            raise ValueError(f"history of run {run!r} has no {missing}; it holds {sorted(history)}")

    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
    for axis, name in zip(axes[0], metrics, strict=True):
        for run, history in histories.items():
            values = _check_series(f"history[{name!r}] of run {run!r}", history[name])
            axis.plot(np.arange(1, values.size + 1), values, marker="o", label=run)
        axis.set_xlabel("epoch")
        axis.set_title(_TITLES.get(name, name))
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_length_distribution(
    lengths: Sequence[int] | np.ndarray,
    cutoff: int | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a histogram of sequence lengths, with an optional cut-off line.

    Args:
        lengths: number of tokens per text, shape ``(N,)``, non-negative integers.
        cutoff: a chosen maximum length; drawn as a vertical line, and the legend says
            which fraction of the texts fit within it.
        title: an optional axes title.

    Returns:
        A figure with one axes.
    """
    values = np.asarray(lengths)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"lengths must be a non-empty 1-D sequence, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.integer) or values.min() < 0:
        raise ValueError("lengths must be non-negative integers (token counts)")
    if cutoff is not None and cutoff <= 0:
        raise ValueError(f"cutoff must be a positive length, got {cutoff}")

    figure, axis = plt.subplots(figsize=(6, 3.4))
    bins = np.arange(0, values.max() + 2) - 0.5
    axis.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    if cutoff is not None:
        share = float(np.mean(values <= cutoff))
        axis.axvline(
            cutoff, color="tab:red", linestyle="--", label=f"cut-off {cutoff} ({share:.1%} fit)"
        )
        axis.legend()
    axis.set_xlabel("length in tokens")
    axis.set_ylabel("number of texts")
    axis.set_title(title or "Length distribution")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


# --- image helpers (helper "image-labs" appends below) ---------------------------------------
# --- image classification helpers ---


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    title_colors: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    title: str | None = None,
) -> Figure:
    """Draw images in a grid, each with an optional caption.

    Args:
        images: ``N`` images, as an array ``(N, H, W)`` (grey), ``(N, H, W, 1)`` or
            ``(N, H, W, 3)`` (RGB), or a sequence of such single images. Pixels are
            ``uint8`` 0-255 or floats in [0, 1]; grey images are drawn with ``cmap``
            between the darkest and brightest possible value (not stretched per image).
        titles: one caption per image (``"\\n"`` breaks lines), e.g. a class name or
            ``"predicted: Coat\\ntrue: Shirt"``.
        title_colors: one matplotlib colour per caption, e.g. ``"tab:red"`` for a mistake.
        ncols: images per row.
        cmap: colour map for grey images.
        title: an optional title over the whole figure.

    Returns:
        A figure with ``ceil(N / ncols)`` rows of axes, without ticks; unused axes are hidden.
    """
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images must have shape (N, H, W) or (N, H, W, C), got {images.shape}; "
                "wrap a single image as images[None]"
            )
        batch = list(images)
    else:
        batch = [np.asarray(image) for image in images]
    if not batch:
        raise ValueError("images is empty: there is nothing to draw")
    for position, image in enumerate(batch):
        if image.ndim == 3 and image.shape[-1] == 1:
            batch[position] = image = image[..., 0]
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
            raise ValueError(
                f"image {position} has shape {image.shape}; expected (H, W), (H, W, 1) or (H, W, 3)"
            )
    for name, values in (("titles", titles), ("title_colors", title_colors)):
        if values is not None and len(values) != len(batch):
            raise ValueError(f"{name} has {len(values)} entries for {len(batch)} images")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")

    ncols = min(ncols, len(batch))
    nrows = -(-len(batch) // ncols)
    caption_lines = max((str(text).count("\n") + 1 for text in titles or []), default=0)
    cell_height = 1.25 + 0.2 * caption_lines
    figure, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(1.25 * ncols, cell_height * nrows + (0.4 if title else 0)),
        squeeze=False,
    )
    for position, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if position >= len(batch):
            continue
        image = batch[position]
        peak = 255 if np.issubdtype(image.dtype, np.integer) else 1.0
        if image.ndim == 2:
            axis.imshow(image, cmap=cmap, vmin=0, vmax=peak)
        else:
            axis.imshow(image if peak == 1.0 else image.astype(np.uint8))
        if titles is not None:
            color = title_colors[position] if title_colors is not None else "black"
            axis.set_title(str(titles[position]), fontsize=8, color=color)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_class_counts(
    counts: Mapping[str, Sequence[int] | np.ndarray],
    class_names: Sequence[str],
    title: str | None = None,
) -> Figure:
    """Draw how many examples each class has, one group of bars per class, one bar per split.

    Args:
        counts: split name -> examples per class, e.g. ``splits.class_counts()``
            (``{"train": array of 10 ints, "val": ..., "test": ...}``).
        class_names: one name per class, in id order.
        title: an optional axes title.

    Returns:
        A figure with one axes; the legend gives each split's total.
    """
    if not counts:
        raise ValueError("counts must hold at least one split, e.g. splits.class_counts()")
    num_classes = len(class_names)
    rows = {}
    for split, values in counts.items():
        row = np.asarray(values)
        if row.shape != (num_classes,) or not np.issubdtype(row.dtype, np.integer):
            raise ValueError(
                f"counts[{split!r}] must hold {num_classes} integer counts (one per class), "
                f"got {row.dtype} array of shape {row.shape}"
            )
        if row.min() < 0:
            raise ValueError(f"counts[{split!r}] holds a negative count")
        rows[split] = row

    width = 0.8 / len(rows)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.7 * num_classes + 1.5), 3.6))
    positions = np.arange(num_classes)
    for offset, (split, row) in enumerate(rows.items()):
        axis.bar(
            positions + (offset - (len(rows) - 1) / 2) * width,
            row,
            width=width,
            label=f"{split} ({int(row.sum()):,})",
        )
    axis.set_xticks(positions, labels=list(class_names), rotation=45, ha="right")
    axis.set_ylabel("examples")
    axis.set_title(title or "Examples per class")
    axis.grid(axis="y", alpha=0.3)
    tallest = max(int(row.max()) for row in rows.values())
    axis.set_ylim(0, 1.25 * tallest if tallest else 1)  # room for the legend above the bars
    axis.legend(loc="upper center", ncols=len(rows))
    figure.tight_layout()
    return figure
