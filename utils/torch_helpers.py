"""The PyTorch side of the course's framework helpers.

:mod:`utils.tf_helpers` exposes the same public names with the same parameters, so a
PyTorch lab and its Keras twin call ``train(model, train_data, val_data, epochs=...)`` in
the same words; ``tests/test_tf_helpers.py`` and ``tests/test_torch_helpers.py`` keep the
two in step.

Conventions shared with the Keras side:

* a classifier ends in **1 output** for two classes or in **K outputs** for K classes.
  Here the model returns *logits* (no sigmoid/softmax layer): the losses
  (``BCEWithLogitsLoss``, ``CrossEntropyLoss``) apply them in a numerically stable way,
  and :func:`predict_proba` applies them for you;
* data is a tuple ``(x, y)`` of numpy arrays (``x`` of shape ``(N, ...)``, ``y`` of integer
  class ids, shape ``(N,)``), or the framework's own data pipeline (a
  ``torch.utils.data.DataLoader`` of ``(x, y)`` batches here, a ``tf.data.Dataset`` on the
  Keras side). Floating arrays become ``float32`` tensors, integer arrays ``int64``;
* ``train`` stops early on the validation loss and restores the weights of the best epoch;
* every function takes the device explicitly (``get_device()`` when left out).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import TqdmWarning

from utils import config
from utils.checks import check_training_settings

with warnings.catch_warnings():
    # In Jupyter without ipywidgets, tqdm.auto warns and falls back to the text bar: fine.
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm


Data = tuple[np.ndarray, np.ndarray] | DataLoader


def set_seed(seed: int = config.SEED) -> None:
    """Seed Python, numpy and PyTorch (CPU and all GPUs), so a run can be repeated.

    Weight initialisation, ``DataLoader`` shuffling and dropout draw from these generators.
    """
    config.seed_everything(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_threads(num_threads: int | None = None) -> None:
    """Limit PyTorch's CPU threads; ``None`` keeps its default (every core).

    This module calls it on import with :func:`utils.config.num_threads` (the
    ``AILM_NUM_THREADS`` variable), so both frameworks' labs follow one setting.

    Args:
        num_threads: threads within one operation, a whole number >= 1, or ``None``.
    """
    if num_threads is None:
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be an int >= 1 or None, got {num_threads!r}")
    torch.set_num_threads(num_threads)


set_threads(config.num_threads())


def get_device() -> torch.device:
    """The best available device: CUDA if present, then Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (learnable weights) of a model.

    Buffers such as batch-norm running statistics are not parameters and are not counted
    (the Keras side leaves them out too).

    Args:
        model: a ``torch.nn.Module``.
        trainable_only: count only parameters with ``requires_grad`` (frozen ones excluded).
    """
    _check_model(model)
    return int(
        sum(
            parameter.numel()
            for parameter in model.parameters()
            if parameter.requires_grad or not trainable_only
        )
    )


def train(
    model: nn.Module,
    train_data: Data,
    val_data: Data,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    patience: int = 2,
    device: torch.device | str | None = None,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Train a classifier with Adam, stopping early on the validation loss.

    The loop is written out below: for every epoch, one pass over the shuffled training
    batches (forward, loss, backward, step), then the validation loss; the weights of the
    epoch with the lowest validation loss are kept and restored at the end.

    Args:
        model: a ``torch.nn.Module`` returning logits, shape ``(B, 1)`` or ``(B,)`` for two
            classes, ``(B, K)`` for K classes.
        train_data: ``(x, y)`` numpy arrays, ``y`` integer class ids of shape ``(N,)``; or a
            ``DataLoader`` of ``(x, y)`` batches (then ``batch_size`` is ignored).
        val_data: the validation data, in the same form.
        epochs: the most epochs to run.
        batch_size: examples per gradient step (for array data).
        learning_rate: Adam's step size.
        patience: epochs without a lower validation loss before training stops.
        device: where to train (``get_device()`` by default); the model is moved there.
        verbose: show a progress bar over the epochs with the latest figures.

    Returns:
        The history: ``{"loss", "accuracy", "val_loss", "val_accuracy"}`` -> per-epoch lists.
    """
    _check_model(model)
    check_training_settings(epochs, batch_size, learning_rate, patience)
    device = torch.device(device) if device is not None else get_device()
    train_loader = _as_loader(train_data, "train_data", batch_size, shuffle=True)
    val_loader = _as_loader(val_data, "val_data", 256, shuffle=False)
    model.to(device)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=learning_rate)

    history: dict[str, list[float]] = {
        "loss": [],
        "accuracy": [],
        "val_loss": [],
        "val_accuracy": [],
    }
    best_loss, best_epoch, best_state = float("inf"), 0, None
    progress = tqdm(total=epochs, desc="training", unit="epoch", disable=not verbose)
    for epoch in range(1, epochs + 1):
        model.train()  # dropout on, batch norm uses batch statistics
        total_loss, correct, seen = 0.0, 0, 0
        for inputs, targets in train_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            loss = _loss(logits, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(targets)
            correct += int((_classes(logits) == targets).sum())
            seen += len(targets)
        val = _evaluate_loader(model, val_loader, device)

        history["loss"].append(total_loss / seen)
        history["accuracy"].append(correct / seen)
        history["val_loss"].append(val["loss"])
        history["val_accuracy"].append(val["accuracy"])
        figures = {key: f"{values[-1]:.4f}" for key, values in history.items()}
        progress.set_postfix(figures, refresh=False)
        progress.update()  # one refresh per epoch keeps the output short

        if val["loss"] < best_loss:  # a new best epoch: remember its weights
            best_loss, best_epoch = val["loss"], epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            if verbose:
                progress.write(f"Epoch {epoch}: early stopping")
            break
    progress.close()
    if best_state is not None:
        model.load_state_dict(best_state)
        if verbose:
            print(f"Restoring model weights from the end of the best epoch: {best_epoch}.")
    return history


def evaluate(
    model: nn.Module,
    data: Data,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy of a classifier on ``data`` (``(x, y)`` arrays or a loader).

    Returns:
        ``{"loss": float, "accuracy": float}``; the loss is the mean cross-entropy.
    """
    _check_model(model)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    return _evaluate_loader(model, _as_loader(data, "data", batch_size, shuffle=False), device)


def predict_proba(
    model: nn.Module,
    x: np.ndarray,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Class probabilities for inputs ``x`` of shape ``(N, ...)``.

    Returns:
        float32 array: shape ``(N,)`` holding P(class 1) for a 1-output (binary) model
        (sigmoid of the logit), else shape ``(N, K)`` (softmax), rows summing to 1.
    """
    _check_model(model)
    device = torch.device(device) if device is not None else get_device()
    inputs = _as_tensor(np.asarray(x))
    model.to(device)
    model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            logits = model(inputs[start : start + batch_size].to(device))
            if logits.ndim == 1 or logits.shape[-1] == 1:
                chunks.append(torch.sigmoid(logits.reshape(-1)))
            else:
                chunks.append(torch.softmax(logits, dim=-1))
    if not chunks:
        raise ValueError("x is empty: there is nothing to predict")
    return torch.cat(chunks).cpu().numpy().astype(np.float32)


def predict(
    model: nn.Module,
    x: np.ndarray,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Predicted class ids (int64, shape ``(N,)``): probability >= 0.5 for a binary model,
    else the most probable class."""
    probabilities = predict_proba(model, x, batch_size=batch_size, device=device)
    if probabilities.ndim == 1:
        return (probabilities >= 0.5).astype(np.int64)
    return probabilities.argmax(axis=1).astype(np.int64)


def save_model(model: nn.Module, path: str | Path) -> Path:
    """Save the model's weights (its ``state_dict``) to a ``.pt`` file.

    A ``state_dict`` holds tensors only, not code: to load it you build the same
    architecture and pass it to :func:`load_model`.

    Returns:
        The path written (parent folders are created).
    """
    _check_model(model)
    path = Path(path)
    if path.suffix not in {".pt", ".pth"}:
        raise ValueError(f"path must end in .pt or .pth, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def load_model(
    path: str | Path,
    model: nn.Module | None = None,
    device: torch.device | str | None = None,
) -> nn.Module:
    """Load weights written by :func:`save_model` into ``model`` and return it (in eval mode).

    Args:
        path: a ``.pt``/``.pth`` file holding a ``state_dict``.
        model: a freshly built model of the same architecture (required: a ``state_dict``
            carries no architecture). The Keras side accepts ``None``.
        device: where to place the weights (``get_device()`` by default).
    """
    path = Path(path)
    if model is None:
        raise TypeError(
            "model is required: a state_dict holds weights only, so build the same architecture "
            "(e.g. model = MyModel(...)) and call load_model(path, model)"
        )
    _check_model(model)
    if not path.exists():
        raise FileNotFoundError(f"no saved weights at {path}: call save_model(model, path) first")
    device = torch.device(device) if device is not None else get_device()
    # weights_only=True: unpickle tensors only, never arbitrary objects from the file
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval()


# --- internals ----------------------------------------------------------------------------


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.floating):
        return torch.as_tensor(array, dtype=torch.float32)
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return torch.as_tensor(array, dtype=torch.int64)
    raise TypeError(f"x must be a numeric numpy array, got dtype {array.dtype}")


def _as_loader(data: Data, name: str, batch_size: int, shuffle: bool) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if not isinstance(data, tuple) or len(data) != 2:
        raise TypeError(f"{name} must be a tuple (x, y) of numpy arrays or a DataLoader")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"{name}: y must have shape (N,) matching the first axis of x, "
            f"got x {x.shape} and y {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name}: y must hold integer class ids, got dtype {y.dtype}")
    dataset = TensorDataset(_as_tensor(x), torch.as_tensor(y, dtype=torch.int64))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy: binary on one logit per example, categorical on K logits."""
    if logits.ndim == 1 or logits.shape[-1] == 1:
        return nn.functional.binary_cross_entropy_with_logits(logits.reshape(-1), targets.float())
    return nn.functional.cross_entropy(logits, targets)


def _classes(logits: torch.Tensor) -> torch.Tensor:
    if logits.ndim == 1 or logits.shape[-1] == 1:
        return (logits.reshape(-1) >= 0).long()  # logit >= 0  <=>  probability >= 0.5
    return logits.argmax(dim=-1)


def _evaluate_loader(
    model: nn.Module, loader: DataLoader, device: torch.device
) -> dict[str, float]:
    model.eval()  # dropout off, batch norm uses its running statistics
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            total_loss += _loss(logits, targets).item() * len(targets)
            correct += int((_classes(logits) == targets).sum())
            seen += len(targets)
    if seen == 0:
        raise ValueError("the data is empty: there is nothing to evaluate")
    return {"loss": total_loss / seen, "accuracy": correct / seen}


# --- image helpers (helper "image-labs" appends below) ---------------------------------------
# --- image classification helpers ---


def extract_features(
    model: nn.Module,
    data: Data,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a (frozen) model over ``data`` once and keep its outputs with their labels.

    With a frozen base, every epoch would compute exactly the same features again;
    computing them once and training the new head on them gives the same model much
    faster (without data augmentation, which needs the images each epoch).

    Args:
        model: e.g. ``utils.pretrained_torch.efficientnet_lite0(include_top=False)``; it
            runs in ``eval()`` mode without gradients (its mode is restored afterwards).
        data: ``(x, y)`` numpy arrays, or a ``DataLoader`` of ``(images, labels)`` batches
            (it may shuffle: each batch's labels are kept with its features).
        batch_size: images per forward pass (for array data).
        device: where to run (``get_device()`` by default); the model is moved there.

    Returns:
        ``(features, labels)``: float32 ``(N, ...)`` in the model's output layout
        (channels first, e.g. ``(N, 1280, 2, 2)``), and int64 class ids ``(N,)``
        (one-hot labels are turned into ids).
    """
    _check_model(model)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    device = torch.device(device) if device is not None else get_device()
    loader = _as_loader(data, "data", batch_size, shuffle=False)
    model.to(device)
    was_training = model.training
    model.eval()
    features, labels = [], []
    try:
        with torch.no_grad():
            for inputs, targets in loader:
                features.append(model(inputs.to(device)).cpu().numpy())
                targets = targets.cpu().numpy()
                labels.append(targets.argmax(axis=-1) if targets.ndim == 2 else targets)
    finally:
        model.train(was_training)
    if not features:
        raise ValueError("data is empty: there is nothing to run the model on")
    return np.concatenate(features).astype(np.float32), np.concatenate(labels).astype(np.int64)
