"""Read what a worker group wrote, compare weights, and the arithmetic of scaling out.

numpy only: the labs of both frameworks use it, and so do the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def load_result(folder: str | Path) -> dict[str, Any]:
    """The ``result.json`` that worker 0 (the chief, rank 0) wrote into ``folder``.

    Raises:
        FileNotFoundError: naming the folder, when the run wrote no result.
    """
    path = Path(folder) / "result.json"
    if not path.is_file():
        raise FileNotFoundError(f"no result.json in {folder}: did the run finish? (see its logs)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_weights(folder: str | Path, tag: str = "final") -> dict[str, np.ndarray]:
    """The weights saved as ``weights_<tag>.npz`` (``final`` or ``step<k>``).

    Returns:
        name -> float32 array, in the order the worker saved them.
    """
    path = Path(folder) / f"weights_{tag}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no weights_{tag}.npz in {folder}")
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


def max_abs_difference(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> float:
    """The largest absolute difference between two sets of weights (same names and shapes)."""
    if set(first) != set(second):
        raise ValueError(
            f"the weights differ in names: only in first {sorted(set(first) - set(second))}, "
            f"only in second {sorted(set(second) - set(first))}"
        )
    for name in first:
        if first[name].shape != second[name].shape:
            raise ValueError(f"{name}: shapes {first[name].shape} and {second[name].shape} differ")
    return max(float(np.max(np.abs(first[name] - second[name]))) for name in first)


def ring_allreduce_bytes(gradient_bytes: float, workers: int) -> float:
    """Bytes each worker sends (and receives) in one ring all-reduce: 2 (N - 1) / N x size.

    The ring splits the gradients into N chunks; N - 1 steps of reduce-scatter and
    N - 1 steps of all-gather each pass one chunk (size / N) to the next worker.
    """
    if gradient_bytes < 0:
        raise ValueError(f"gradient_bytes must be >= 0, got {gradient_bytes!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    return 2 * (workers - 1) / workers * gradient_bytes


def ring_allreduce_seconds(
    gradient_bytes: float, workers: int, bandwidth_bytes_per_s: float, latency_s: float = 0.0
) -> float:
    """Time of one ring all-reduce: 2 (N - 1) / N x size / bandwidth, plus 2 (N - 1) latencies.

    Args:
        gradient_bytes: bytes of gradients per step (4 per float32 parameter).
        workers: N, the number of workers in the ring.
        bandwidth_bytes_per_s: each link's bandwidth, in bytes (not bits) per second.
        latency_s: the fixed cost of each of the 2 (N - 1) messages.
    """
    if bandwidth_bytes_per_s <= 0:
        raise ValueError(f"bandwidth_bytes_per_s must be positive, got {bandwidth_bytes_per_s!r}")
    if latency_s < 0:
        raise ValueError(f"latency_s must be >= 0, got {latency_s!r}")
    messages = 2 * (workers - 1)
    return (
        ring_allreduce_bytes(gradient_bytes, workers) / bandwidth_bytes_per_s + messages * latency_s
    )


def function_source(path: str | Path, name: str) -> str:
    """The source text of the top-level function ``name`` in the Python file ``path``.

    Reads the file without importing it, so a lab can show a worker's code without
    loading the worker's framework.

    Raises:
        ValueError: when the file defines no top-level function of that name.
    """
    import ast

    text = Path(path).read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(text, node) or ""
    raise ValueError(f"{path} defines no top-level function {name!r}")
