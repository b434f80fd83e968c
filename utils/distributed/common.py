"""What the two worker scripts share: their arguments, the data, its order, the first weights.

numpy and the standard library only, so that ``torch_worker.py`` and ``tf_worker.py``
use the very same code for everything that is not the framework itself. The twins then
compute (nearly) the same thing: the same initial weights, the same images in the same
order, each worker with the same share of every global batch.

- :func:`parse_args`: the command line both worker scripts accept.
- :func:`load_arrays`: the class-balanced training and test images, as numpy arrays.
- :func:`epoch_order`: the order of the training images in one epoch, from the seed.
- :func:`worker_share`: which images of an epoch one worker computes on.
- :func:`initial_weights`: the convnet's first weights, drawn once in numpy, in the
  layout each framework stores them in.
- :func:`write_result`: what the chief (rank 0) writes at the end, for the labs to read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from utils import data

# -- arguments ---------------------------------------------------------------------------


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of a worker script (the same for both frameworks).

    ``--crash-at-step`` makes the worker of rank (index) 1 kill itself in the first attempt.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="folder for results")
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps in all")
    parser.add_argument("--batch-size", type=int, default=64, help="GLOBAL batch size")
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--momentum", type=float, default=0.9, help="for SGD")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-per-class", type=int, default=640)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument(
        "--snapshot-at", type=int, nargs="*", default=[], help="steps after which to save weights"
    )
    parser.add_argument("--checkpoint-every", type=int, default=0, help="0: no checkpoints")
    parser.add_argument("--crash-at-step", type=int, default=0, help="worker 1 dies (once)")
    parser.add_argument("--benchmark-steps", type=int, default=0, help="compute/comm timing")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "train_per_class", "test_per_class"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def check_batches(args: argparse.Namespace, train_size: int, workers: int) -> int:
    """The number of steps per epoch; stops the worker when the batches do not divide evenly."""
    if args.batch_size % workers:
        raise SystemExit(f"--batch-size {args.batch_size} is not divisible by {workers} workers")
    if train_size % args.batch_size:
        raise SystemExit(
            f"{train_size} training images do not split into batches of {args.batch_size}"
        )
    return train_size // args.batch_size


# -- data --------------------------------------------------------------------------------


def load_arrays(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    """Class-balanced training and test subsets: (N, 28, 28) float32 pixels in [0, 1], labels."""
    splits = data.load_fashion_mnist(seed=args.seed)
    x_train, y_train = data.subsample_per_class(
        splits.x_train, splits.y_train, args.train_per_class, seed=args.seed
    )
    x_test, y_test = data.subsample_per_class(
        splits.x_test, splits.y_test, args.test_per_class, seed=args.seed
    )
    return x_train.astype(np.float32) / 255, y_train, x_test.astype(np.float32) / 255, y_test


def epoch_order(seed: int, epoch: int, size: int) -> np.ndarray:
    """The order of the ``size`` training images in ``epoch``: the same in every worker.

    Global batch k of the epoch is ``order[k * batch_size : (k + 1) * batch_size]``.
    """
    return np.random.default_rng([seed, epoch]).permutation(size)


def worker_share(order: np.ndarray, rank: int, workers: int) -> np.ndarray:
    """The positions of ``order`` that worker ``rank`` computes on: rank, rank + N, ...

    This is how PyTorch's ``DistributedSampler`` deals a dataset (without shuffling it):
    worker ``rank``'s k-th batch of ``batch_size / N`` images is its share of the k-th
    global batch, and the N shares together are exactly that global batch.
    """
    if not 0 <= rank < workers:
        raise ValueError(f"rank must be in [0, {workers}), got {rank!r}")
    return order[rank::workers]


# -- the first weights -------------------------------------------------------------------

#: The convnet's layers that hold weights: (name, kind, fan-in, output shape).
#: Convolutions: 3 x 3 kernels, 'same' padding; the first dense layer reads the 32
#: feature maps of 7 x 7 pixels that two 2 x 2 poolings leave of 28 x 28.
LAYERS = (
    ("conv1", "conv", 1 * 3 * 3, 16),
    ("conv2", "conv", 16 * 3 * 3, 32),
    ("dense1", "dense", 32 * 7 * 7, 128),
    ("dense2", "dense", 128, 10),
)


def initial_weights(seed: int, layout: str) -> list[np.ndarray]:
    """The convnet's first weights and biases, drawn in numpy from ``seed``.

    Every value is drawn as PyTorch's default initialisation draws it (uniform in
    +-1/sqrt(fan-in), for weights and biases alike) and stored in PyTorch's layout first;
    ``layout="keras"`` then rearranges the same numbers into Keras's layout:

    - convolution kernels: PyTorch (out, in, height, width), Keras (height, width, in, out);
    - dense kernels: PyTorch (out, in), Keras (in, out);
    - the first dense layer's inputs: PyTorch flattens (channel, row, column), Keras
      flattens channels last (row, column, channel), so its rows are reordered too.

    Returns:
        [kernel, bias, kernel, bias, ...] in the order of the layers, float32: the order
        of ``model.parameters()`` (PyTorch) and of ``model.get_weights()`` (Keras).
    """
    if layout not in ("torch", "keras"):
        raise ValueError(f"layout must be 'torch' or 'keras', got {layout!r}")
    rng = np.random.default_rng([seed, 2024])
    weights = []
    for _, kind, fan_in, units in LAYERS:
        bound = fan_in**-0.5
        if kind == "conv":
            kernel = rng.uniform(-bound, bound, (units, fan_in // 9, 3, 3))
            if layout == "keras":
                kernel = kernel.transpose(2, 3, 1, 0)
        else:
            kernel = rng.uniform(-bound, bound, (units, fan_in))
            if layout == "keras":
                if fan_in == 32 * 7 * 7:  # (channel, row, column) -> (row, column, channel)
                    kernel = kernel.reshape(units, 32, 7, 7).transpose(0, 2, 3, 1)
                    kernel = kernel.reshape(units, fan_in)
                kernel = kernel.T
        bias = rng.uniform(-bound, bound, units)
        weights += [np.ascontiguousarray(kernel, np.float32), bias.astype(np.float32)]
    return weights


# -- the result --------------------------------------------------------------------------


def write_result(
    args: argparse.Namespace,
    weights: dict[str, np.ndarray],
    step_seconds: list[float],
    **figures,
) -> dict:
    """Write ``result.json`` and ``weights_final.npz`` into ``args.out``; return the result.

    ``figures`` must hold ``parameters``; the step timings skip the first two steps
    (warm-up, and TensorFlow's tracing of the step function) when there are enough.
    """
    timed = step_seconds[2:] if len(step_seconds) > 4 else step_seconds
    result = {
        "batch_size": args.batch_size,
        "step_ms": 1000 * float(np.median(timed)) if timed else None,
        "examples_per_second": args.batch_size * len(timed) / sum(timed) if timed else None,
        "gradient_bytes": 4 * figures["parameters"],
        **figures,
    }
    np.savez(args.out / "weights_final.npz", **weights)
    (args.out / "result.json").write_text(json.dumps(result, indent=1))
    return result
