"""The TensorFlow/Keras side of the course's framework helpers.

:mod:`utils.torch_helpers` exposes the same public names with the same parameters, so a
Keras lab and its PyTorch twin call ``train(model, train_data, val_data, epochs=...)`` in
the same words; ``tests/test_tf_helpers.py`` and ``tests/test_torch_helpers.py`` keep the
two in step.

Conventions shared with the PyTorch side:

* a classifier ends in **1 unit** for two classes (here: a sigmoid, giving the probability
  of class 1) or in **K units** for K classes (here: a softmax);
* data is a tuple ``(x, y)`` of numpy arrays (``x`` of shape ``(N, ...)``, ``y`` of integer
  class ids, shape ``(N,)``), or the framework's own data pipeline (a ``tf.data.Dataset``
  of batches here, a ``DataLoader`` on the PyTorch side);
* ``train`` stops early on the validation loss and restores the weights of the best epoch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from utils import config
from utils.checks import check_training_settings

config.quiet_tensorflow()  # must run before TensorFlow is imported

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

Data = tuple[np.ndarray, np.ndarray] | tf.data.Dataset

_RUNNING_STATISTICS = {"moving_mean", "moving_variance"}


def set_seed(seed: int = config.SEED) -> None:
    """Seed Python, numpy and Keras/TensorFlow, so a run can be repeated.

    Weight initialisation, shuffling and dropout draw from these generators.
    """
    config.seed_everything(seed)
    keras.utils.set_random_seed(seed)


def set_threads(num_threads: int | None = None) -> None:
    """Limit TensorFlow's CPU threads; ``None`` keeps its default (every core).

    This module calls it on import with :func:`utils.config.num_threads` (the
    ``AILM_NUM_THREADS`` variable). TensorFlow reads the setting once, when it first runs
    an operation: call it before any model is built.

    Args:
        num_threads: threads within one operation (intra-op) and operations run side by
            side (inter-op), a whole number >= 1, or ``None``.
    """
    if num_threads is None:
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be an int >= 1 or None, got {num_threads!r}")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(num_threads)
    except RuntimeError as error:  # TensorFlow has already started its thread pools
        if tf.config.threading.get_intra_op_parallelism_threads() != num_threads:
            raise RuntimeError(
                f"TensorFlow already runs with its own thread settings ({error}); call "
                "tf_helpers.set_threads(...) before building a model, or restart the kernel"
            ) from None


def _threads_from_config() -> None:
    """Apply ``AILM_NUM_THREADS`` on import; too late (TensorFlow already ran) is a warning."""
    try:
        set_threads(config.num_threads())
    except RuntimeError as error:
        warnings.warn(f"{config.NUM_THREADS_ENV} not applied: {error}", stacklevel=2)


_threads_from_config()


def get_device() -> str:
    """Return the device string to place work on: ``"/GPU:0"`` when TensorFlow sees a GPU,
    else ``"/CPU:0"``. (TensorFlow has no Apple MPS device; ``tensorflow-metal`` shows as GPU.)
    """
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


def count_parameters(model: keras.Model, trainable_only: bool = False) -> int:
    """Number of scalar parameters (learnable weights) of a built model.

    Batch-normalisation running statistics (``moving_mean``, ``moving_variance``) are not
    counted: they are not learned by gradient descent, and PyTorch keeps them as buffers,
    not parameters, so both frameworks report the same number for the same network.

    Args:
        model: a built ``keras.Model`` (call it once, or give it an ``Input``).
        trainable_only: count only the weights the optimiser updates (frozen layers excluded).
    """
    _check_model(model)
    if not model.built:
        raise ValueError("model is not built yet: call it on a batch or start it with keras.Input")
    weights = model.trainable_weights if trainable_only else model.weights
    learned = [weight for weight in weights if weight.name not in _RUNNING_STATISTICS]
    return int(sum(int(np.prod(weight.shape)) for weight in learned))


def train(
    model: keras.Model,
    train_data: Data,
    val_data: Data,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    patience: int = 2,
    device: str | None = None,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Train a classifier with Adam, stopping early on the validation loss.

    In Keras this is ``model.compile`` plus ``model.fit`` with an ``EarlyStopping``
    callback that restores the weights of the epoch with the lowest validation loss.

    Args:
        model: a ``keras.Model`` ending in 1 sigmoid unit (binary) or K softmax units.
        train_data: ``(x, y)`` numpy arrays, ``y`` integer class ids of shape ``(N,)``;
            or a batched ``tf.data.Dataset`` (then ``batch_size`` is ignored).
        val_data: the validation data, in the same form.
        epochs: the most epochs to run.
        batch_size: examples per gradient step (for array data).
        learning_rate: Adam's step size.
        patience: epochs without a lower validation loss before training stops.
        device: where to train (``get_device()`` by default).
        verbose: print one line per epoch.

    Returns:
        The history: ``{"loss", "accuracy", "val_loss", "val_accuracy"}`` -> per-epoch lists.
    """
    _check_model(model)
    check_training_settings(epochs, batch_size, learning_rate, patience)
    loss = "binary_crossentropy" if _num_outputs(model) == 1 else "sparse_categorical_crossentropy"
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=loss,
        metrics=["accuracy"],
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True, verbose=int(verbose)
    )
    x_train, y_train = _split_data(train_data, "train_data", model)
    validation = _validation_data(val_data, model)
    with tf.device(device or get_device()):
        fit = model.fit(
            x_train,
            y_train,
            batch_size=None if y_train is None else batch_size,
            shuffle=y_train is not None,  # a dataset brings its own shuffling
            epochs=epochs,
            validation_data=validation,
            callbacks=[early_stopping],
            verbose=2 if verbose else 0,
        )
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return {key: [float(value) for value in fit.history[key]] for key in keys}


def evaluate(
    model: keras.Model,
    data: Data,
    batch_size: int = 256,
    device: str | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy of a classifier on ``data`` (``(x, y)`` arrays or a dataset).

    Returns:
        ``{"loss": float, "accuracy": float}``; the loss is the mean cross-entropy.
    """
    _check_model(model)
    x, y = _split_data(data, "data", model)
    with tf.device(device or get_device()):
        if y is None:  # a dataset of (x, y) batches: predict batch by batch, keeping labels aligned
            batches = [(model(features, training=False), labels) for features, labels in x]
            probabilities = np.concatenate([np.asarray(p, dtype=np.float32) for p, _ in batches])
            y = np.concatenate([np.asarray(labels) for _, labels in batches])
        else:
            probabilities = _predict_raw(model, x, batch_size)
    labels = np.asarray(y).reshape(-1).astype(np.int64)
    return _loss_and_accuracy(probabilities, labels)


def predict_proba(
    model: keras.Model,
    x: np.ndarray,
    batch_size: int = 256,
    device: str | None = None,
) -> np.ndarray:
    """Class probabilities for inputs ``x`` of shape ``(N, ...)``.

    Returns:
        float32 array: shape ``(N,)`` holding P(class 1) for a 1-unit (binary) model,
        else shape ``(N, K)`` with rows summing to 1.
    """
    _check_model(model)
    with tf.device(device or get_device()):
        probabilities = _predict_raw(model, x, batch_size)
    return probabilities.reshape(-1) if probabilities.shape[-1] == 1 else probabilities


def predict(
    model: keras.Model,
    x: np.ndarray,
    batch_size: int = 256,
    device: str | None = None,
) -> np.ndarray:
    """Predicted class ids (int64, shape ``(N,)``): probability >= 0.5 for a binary model,
    else the most probable class."""
    probabilities = predict_proba(model, x, batch_size=batch_size, device=device)
    if probabilities.ndim == 1:
        return (probabilities >= 0.5).astype(np.int64)
    return probabilities.argmax(axis=1).astype(np.int64)


def save_model(model: keras.Model, path: str | Path) -> Path:
    """Save the whole model (architecture + weights + optimiser state) to a ``.keras`` file.

    Returns:
        The path written (parent folders are created).
    """
    _check_model(model)
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras (Keras 3's native format), got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load_model(
    path: str | Path,
    model: keras.Model | None = None,
    device: str | None = None,
) -> keras.Model:
    """Load what :func:`save_model` wrote.

    Args:
        path: a ``.keras`` file.
        model: optional; when given, only the weights are loaded into it (its
            architecture must match). A ``.keras`` file carries the architecture, so
            Keras can rebuild the model without it.
        device: where to place the weights (``get_device()`` by default).
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must be a .keras file written by save_model, got {path.name!r}")
    if not path.exists():
        raise FileNotFoundError(f"no saved model at {path}: call save_model(model, path) first")
    with tf.device(device or get_device()):
        if model is None:
            return keras.saving.load_model(path)
        _check_model(model)
        model.load_weights(path)
        return model


# --- internals ----------------------------------------------------------------------------


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")


def _num_outputs(model: keras.Model) -> int:
    shape = model.outputs[0].shape if getattr(model, "outputs", None) else None
    if shape is None:
        raise ValueError("model must be a functional or Sequential model with a known output shape")
    return int(shape[-1])


def _split_data(data: Data, name: str, model: keras.Model) -> tuple[Any, np.ndarray | None]:
    """Return ``(x, y)`` arrays checked for shape, or ``(dataset, None)``."""
    if isinstance(data, tf.data.Dataset):
        return data, None
    if not isinstance(data, tuple) or len(data) != 2:
        raise TypeError(f"{name} must be a tuple (x, y) of numpy arrays or a tf.data.Dataset")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"{name}: y must have shape (N,) matching the first axis of x, "
            f"got x {x.shape} and y {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name}: y must hold integer class ids, got dtype {y.dtype}")
    if _num_outputs(model) == 1:
        y = y.astype(np.float32)  # binary cross-entropy compares with a probability
    return x, y


def _validation_data(data: Data, model: keras.Model) -> Any:
    x, y = _split_data(data, "val_data", model)
    return x if y is None else (x, y)


def _predict_raw(model: keras.Model, x: Any, batch_size: int) -> np.ndarray:
    if isinstance(x, tf.data.Dataset):
        x = x.map(lambda features, *_: features)
        return np.asarray(model.predict(x, verbose=0), dtype=np.float32)
    return np.asarray(
        model.predict(np.asarray(x), batch_size=batch_size, verbose=0), dtype=np.float32
    )


def _loss_and_accuracy(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy and accuracy, computed from probabilities in numpy."""
    epsilon = 1e-7  # Keras clips probabilities the same way before taking the log
    if probabilities.shape[-1] == 1:
        positive = np.clip(probabilities.reshape(-1), epsilon, 1 - epsilon)
        losses = -(labels * np.log(positive) + (1 - labels) * np.log(1 - positive))
        predicted = (positive >= 0.5).astype(np.int64)
    else:
        chosen = np.clip(probabilities[np.arange(len(labels)), labels], epsilon, 1.0)
        losses = -np.log(chosen)
        predicted = probabilities.argmax(axis=1)
    return {"loss": float(losses.mean()), "accuracy": float((predicted == labels).mean())}


# --- image helpers (helper "image-labs" appends below) ---------------------------------------
# --- image classification helpers ---


def extract_features(
    model: keras.Model,
    data: Data,
    batch_size: int = 256,
    device: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a (frozen) model over ``data`` once and keep its outputs with their labels.

    With a frozen base, every epoch would compute exactly the same features again;
    computing them once and training the new head on them gives the same model much
    faster (without data augmentation, which needs the images each epoch).

    Args:
        model: e.g. ``utils.pretrained_tf.efficientnet_lite0(include_top=False)``; it is
            called in inference mode (``training=False``).
        data: ``(x, y)`` numpy arrays, or a ``tf.data.Dataset`` of ``(images, labels)``
            batches such as ``keras.utils.image_dataset_from_directory`` returns (it may
            shuffle: each batch's labels are kept with its features).
        batch_size: images per forward pass (for array data).
        device: where to run (``get_device()`` by default).

    Returns:
        ``(features, labels)``: float32 ``(N, ...)`` in the model's output layout
        (channels last, e.g. ``(N, 2, 2, 1280)``), and int64 class ids ``(N,)``
        (one-hot labels are turned into ids).
    """
    _check_model(model)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(data, tf.data.Dataset):
        batches = data
    elif isinstance(data, tuple) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise ValueError(f"data: x has {len(x)} examples but y has {len(y)}")
        batches = [
            (x[start : start + batch_size], y[start : start + batch_size])
            for start in range(0, len(x), batch_size)
        ]
    else:
        raise TypeError("data must be a tuple (x, y) of numpy arrays or a tf.data.Dataset")
    # one compiled graph for every batch: much faster than calling a large model eagerly
    forward = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
    features, labels = [], []
    with tf.device(device or get_device()):
        for inputs, targets in batches:
            features.append(keras.ops.convert_to_numpy(forward(tf.convert_to_tensor(inputs))))
            targets = np.asarray(targets)
            labels.append(targets.argmax(axis=-1) if targets.ndim == 2 else targets.reshape(-1))
    if not features:
        raise ValueError("data is empty: there is nothing to run the model on")
    return np.concatenate(features).astype(np.float32), np.concatenate(labels).astype(np.int64)
