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
from utils.data.fileops import atomic_write_text

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
    # atomic: the comparison page never reads half a file while a lab is writing it
    return atomic_write_text(path, text + "\n", config.RESULTS_DIR_ENV, "record the results")


def load_results(lab: str) -> dict[str, Any]:
    """Read back what :func:`record` wrote for ``lab``.

    Raises:
        ValueError: ``lab`` names no lab of the course (the message lists them).
        FileNotFoundError: with the command that produces the file.
    """
    path = config.results_dir() / f"{lab}.json"
    if not path.exists():
        known = known_labs()
        if lab not in known:
            raise ValueError(
                f"lab={lab!r} is not a lab of the course; use one of {', '.join(known)}"
            )
        raise FileNotFoundError(
            f"no results for lab {lab!r} at {path}: run the lab first "
            f"(make book, or: cd labs && python {lab}.py)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def known_labs() -> list[str]:
    """The lab names :func:`load_results` accepts: every ``labs/*.py`` stem and every twin."""
    stems = {path.stem for path in (config.REPO_ROOT / "labs").glob("*.py")}
    stems.update(lab for pair in TWINS.values() for lab in pair)
    return sorted(stems)


_FRAMEWORK_NAMES = {"tensorflow": "Keras", "pytorch": "PyTorch"}


def record_and_compare(lab: str, framework: str, **figures: Any) -> dict[str, Any] | None:
    """A lab's last step in one call: :func:`record` its figures, then compare with its twin.

    Prints the path written; if the lab has a twin in :data:`TWINS` that has already
    recorded, its test accuracy, the difference and whether both used the same split
    (``split_fingerprint``); and the lab's wall time when ``wall_seconds`` is among the
    figures.

    Args:
        lab: the lab's file stem, e.g. ``"image_classification_tf"``.
        framework: ``"tensorflow"`` or ``"pytorch"``.
        **figures: as for :func:`record`; ``test_accuracy`` and ``split_fingerprint``
            are compared with the twin's.

    Returns:
        The twin's recorded figures, or ``None`` when there is no twin or it has not run.
    """
    path = record(lab, framework, **figures)
    print(f"recorded {path}")
    twin_lab = next(
        (other for pair in TWINS.values() if lab in pair for other in pair if other != lab),
        None,
    )
    twin = None
    if twin_lab is not None:
        twin_framework = "pytorch" if framework == "tensorflow" else "tensorflow"
        name = _FRAMEWORK_NAMES[twin_framework]
        try:
            twin = load_results(twin_lab)["figures"]
        except FileNotFoundError:
            print(f"the {name} twin has not recorded results yet")
        else:
            same_split = twin.get("split_fingerprint") == figures.get("split_fingerprint")
            if "test_accuracy" in twin and "test_accuracy" in figures:
                difference = figures["test_accuracy"] - twin["test_accuracy"]
                print(
                    f"{name} twin: test accuracy {twin['test_accuracy']:.3f} "
                    f"(difference {difference:+.3f}; same split: {same_split})"
                )
            else:
                print(f"{name} twin: same split: {same_split}")
    if "wall_seconds" in figures:
        print(f"wall time of this lab: {figures['wall_seconds']:.0f} s")
    return twin


#: The twin labs, by task: (TensorFlow lab, PyTorch lab).
TWINS: dict[str, tuple[str, str]] = {
    "text": ("text_classification_tf", "text_classification_torch"),
    "fine-tuning": ("transformer_finetuning_tf", "transformer_finetuning_torch"),
    "pretraining": ("pretraining_tf", "pretraining_torch"),
    "image": ("image_classification_tf", "image_classification_torch"),
    "distributed": ("distributed_training_tf", "distributed_training_torch"),
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


#: The largest test-accuracy gap between two twins that the course accepts, by task. A
#: task registered in :data:`TWINS` without an entry here is held to the default.
GAP_TARGETS: dict[str, float] = {
    "text": 0.03,
    "image": 0.02,
    # the target: both twins start from the same weights and see the same batches
    "fine-tuning": 0.02,
}
DEFAULT_GAP_TARGET = 0.03


def twin_check(task: str) -> dict[str, Any]:
    """Compare the recorded twins of ``task`` and fail if they are not comparable or too far apart.

    Returns:
        ``{"task", "same_data", "gap", "target", "tensorflow", "pytorch"}``: whether
        both twins recorded the same ``split_fingerprint``, the absolute difference of
        their ``test_accuracy`` (float), the gap target (float), and each twin's figures.

    Raises:
        ValueError: for an unknown task, or when the twins trained on different data
            splits, or when their test-accuracy gap is larger than the target.
        KeyError: when a twin did not record ``test_accuracy`` or ``split_fingerprint``.
        FileNotFoundError: if either twin has not recorded its results.
    """
    tf_side, torch_side = twin_results(task)
    figures = {"tensorflow": tf_side["figures"], "pytorch": torch_side["figures"]}
    for framework, recorded in figures.items():
        missing = [k for k in ("test_accuracy", "split_fingerprint") if k not in recorded]
        if missing:
            lab = TWINS[task][0 if framework == "tensorflow" else 1]
            raise KeyError(f"lab {lab!r} did not record {missing}: pass them to results.record")
    same_data = (
        figures["tensorflow"]["split_fingerprint"] == figures["pytorch"]["split_fingerprint"]
    )
    if not same_data:
        raise ValueError(
            f"the {task} twins {TWINS[task]} trained on different data splits "
            f"({figures['tensorflow']['split_fingerprint']} vs "
            f"{figures['pytorch']['split_fingerprint']}): they cannot be compared"
        )
    gap = abs(
        float(figures["tensorflow"]["test_accuracy"]) - float(figures["pytorch"]["test_accuracy"])
    )
    target = GAP_TARGETS.get(task, DEFAULT_GAP_TARGET)
    if gap > target:
        raise ValueError(
            f"the {task} twins {TWINS[task]} differ by {gap:.3f} in test accuracy, more than "
            f"the course's target of {target}: find out which twin changed"
        )
    return {"task": task, "same_data": same_data, "gap": gap, "target": target, **figures}


def comparison_markdown(task: str) -> str:
    """The comparison table of the twins of ``task`` as a Markdown table (a string)."""
    lines = ["| figure | TensorFlow (Keras 3) | PyTorch |", "| --- | --- | --- |"]
    for label, tf_value, torch_value in comparison_rows(task):
        cells = (str(cell).replace("|", "\\|") for cell in (label, tf_value, torch_value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
