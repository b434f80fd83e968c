"""Machine-readable results that each lab records for the framework comparison page.

A lab calls :func:`record` once at its end; the comparison page and the benchmark
script read the files back with :func:`load_results`. Files live in
``utils.config.results_dir()`` (outside the source folders).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from utils import config

_FRAMEWORKS = {"tensorflow", "pytorch"}


def record(lab: str, framework: str, **figures: Any) -> Path:
    """Write ``<results_dir>/<lab>.json`` with the lab's key figures.

    Args:
        lab: the lab's file stem, e.g. ``"text_classification_tf"``.
        framework: ``"tensorflow"`` or ``"pytorch"``.
        **figures: JSON-serialisable values (numbers, strings, dicts of them), e.g.
            ``test_accuracy=0.78, f1=0.8, train_seconds=41.2, parameters=674_369,
            split_fingerprint="3fa2c1d09b7e"``.

    Returns:
        The path written.
    """
    if not lab or not lab.replace("_", "").isalnum():
        raise ValueError(f"lab must be a file stem such as 'text_classification_tf', got {lab!r}")
    if framework not in _FRAMEWORKS:
        raise ValueError(f"framework must be one of {sorted(_FRAMEWORKS)}, got {framework!r}")
    payload = {
        "lab": lab,
        "framework": framework,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "figures": figures,
    }
    try:
        text = json.dumps(payload, indent=2, sort_keys=True)
    except TypeError as error:
        raise TypeError(
            f"every figure passed to record() must be JSON-serialisable: {error}"
        ) from None
    path = config.results_dir() / f"{lab}.json"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def load_results(lab: str) -> dict[str, Any]:
    """Read back what :func:`record` wrote for ``lab``.

    Raises:
        FileNotFoundError: with the command that produces the file.
    """
    path = config.results_dir() / f"{lab}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no results for lab {lab!r} at {path}: run the lab first "
            f"(make book, or: cd labs && python {lab}.py)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


#: The twin labs, by task: (TensorFlow lab, PyTorch lab).
TWINS: dict[str, tuple[str, str]] = {
    "text": ("text_classification_tf", "text_classification_torch"),
    "image": ("image_classification_tf", "image_classification_torch"),
}

#: The figures every lab records, in the order the comparison shows them, with labels.
COMPARED_FIGURES: dict[str, str] = {
    "test_accuracy": "test accuracy",
    "f1": "F1 (test)",
    "train_seconds": "training time (s)",
    "wall_seconds": "whole lab, wall time (s)",
    "parameters": "trainable parameters",
    "split_fingerprint": "data split fingerprint",
}


def twin_results(task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load the recorded results of both twins of ``task`` (``"text"`` or ``"image"``).

    Raises:
        ValueError: for an unknown task.
        FileNotFoundError: if either twin has not recorded its results.
    """
    if task not in TWINS:
        raise ValueError(f"task must be one of {sorted(TWINS)}, got {task!r}")
    tf_lab, torch_lab = TWINS[task]
    return load_results(tf_lab), load_results(torch_lab)


def format_figure(value: Any) -> str:
    """A figure as the comparison table shows it."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def comparison_rows(task: str) -> list[tuple[str, str, str]]:
    """``(figure, TensorFlow, PyTorch)`` rows for the twins of ``task``, ready to print.

    A figure that a lab did not record shows as ``"(not recorded)"``.
    """
    tf_side, torch_side = twin_results(task)
    rows = []
    for key, label in COMPARED_FIGURES.items():
        values = [side["figures"].get(key, "(not recorded)") for side in (tf_side, torch_side)]
        rows.append((label, *(format_figure(value) for value in values)))
    versions = [side["figures"].get("versions", {}) for side in (tf_side, torch_side)]
    rows.append(
        (
            "library versions",
            *(
                ", ".join(f"{name} {version}" for name, version in sorted(v.items()))
                for v in versions
            ),
        )
    )
    return rows
