"""Settings shared by every lab and helper: seeds, folders, environment variables.

Everything a learner may want to change lives here, read from environment
variables with sensible defaults, so no lab hard-codes a path.

=====================  ==========================================  =========================
variable               meaning                                     default
=====================  ==========================================  =========================
``AILM_DATA_DIR``      where data sets are cached and exported     ``~/.cache/ailm-course``
``AILM_RESULTS_DIR``   where labs write their results (JSON)       ``<repo>/_build/results``
``AILM_ALLOW_DOWNLOAD`` ``1`` lets loaders download missing data   ``0`` (never download)
=====================  ==========================================  =========================
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

#: The one seed of the course. Both frameworks' twins use it, so they see the same split.
SEED: int = 42

DATA_DIR_ENV = "AILM_DATA_DIR"
RESULTS_DIR_ENV = "AILM_RESULTS_DIR"
ALLOW_DOWNLOAD_ENV = "AILM_ALLOW_DOWNLOAD"

#: The repository root (this package is installed in editable mode from it).
REPO_ROOT: Path = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Return the folder where the course caches its data sets (created if missing).

    Set ``AILM_DATA_DIR`` to move it; the default follows ``XDG_CACHE_HOME``.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        path = Path(configured).expanduser()
    else:
        cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        path = cache_home / "ailm-course"
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """Return the folder where labs record their key figures (created if missing)."""
    configured = os.environ.get(RESULTS_DIR_ENV)
    path = Path(configured).expanduser() if configured else REPO_ROOT / "_build" / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_allowed() -> bool:
    """Whether loaders may fetch missing data from the network (``AILM_ALLOW_DOWNLOAD=1``)."""
    value = os.environ.get(ALLOW_DOWNLOAD_ENV, "0").strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no", ""}:
        raise ValueError(
            f"{ALLOW_DOWNLOAD_ENV}={value!r} is not understood: "
            "use 1 to allow downloads or 0 to forbid them"
        )
    return value in {"1", "true", "yes"}


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up lines (oneDNN notice, CPU-feature guard).

    Must run *before* ``import tensorflow`` (or ``import keras``) to have any effect;
    the labs call it in their first cell. Errors are still shown.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def seed_everything(seed: int = SEED) -> None:
    """Seed Python's and numpy's global generators.

    The framework helpers (``tf_helpers.set_seed``, ``torch_helpers.set_seed``) call
    this and also seed their framework.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (code that uses the legacy global generator)
    os.environ["PYTHONHASHSEED"] = str(seed)
