"""Settings shared by every lab and helper: seeds, folders, environment variables.

Everything a learner may want to change lives here, read from environment
variables with sensible defaults, so no lab hard-codes a path.

=====================  ==========================================  =========================
variable               meaning                                     default
=====================  ==========================================  =========================
``AILM_DATA_DIR``      where data sets are cached and exported     ``~/.cache/ailm-course``
``AILM_RESULTS_DIR``   where labs write their results (JSON)       ``<repo>/_build/results``
``AILM_ALLOW_DOWNLOAD`` ``1`` lets loaders download missing data   ``0`` (never download)
``AILM_NUM_THREADS``   CPU threads for a lab's tensor operations   every core
=====================  ==========================================  =========================
"""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import numpy as np

#: The one seed of the course. Both frameworks' twins use it, so they see the same split.
SEED: int = 42

DATA_DIR_ENV = "AILM_DATA_DIR"
RESULTS_DIR_ENV = "AILM_RESULTS_DIR"
ALLOW_DOWNLOAD_ENV = "AILM_ALLOW_DOWNLOAD"
NUM_THREADS_ENV = "AILM_NUM_THREADS"

#: The repository root (this package is installed in editable mode from it).
REPO_ROOT: Path = Path(__file__).resolve().parents[1]


class FolderError(OSError):
    """A folder the course needs cannot be created or written (permissions, a file in the
    way, a read-only or full disk). The message names the setting and the command that fixes it.
    """


#: errno values that mean "the disk is full" (no space, quota exhausted).
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _setting_hint(setting: str | None) -> str:
    if setting is None:
        return ""
    configured = os.environ.get(setting)
    if configured:
        return f" (set by {setting}={configured})"
    return f" (the default; set {setting} to choose another folder)"


def folder_error(path: Path, error: OSError, setting: str | None, action: str) -> FolderError:
    """Turn an ``OSError`` raised while creating or writing under ``path`` into a clear error.

    Args:
        path: the folder the course wanted to create or write into.
        error: the error the operating system gave.
        setting: the environment variable that chose ``path`` (e.g. ``"AILM_DATA_DIR"``),
            or ``None`` when a function argument chose it.
        action: what was being done, e.g. ``"create the data folder"``.

    Returns:
        A :class:`FolderError` that says what happened, which folder and setting are at
        fault, and the commands that fix it (the caller raises it ``from error``).
    """
    where = f"{path}{_setting_hint(setting)}"
    other = (
        f"export {setting}=$HOME/ailm-data   (any folder you can write, on a disk with room)"
        if setting
        else "pass a folder you can write"
    )
    reason = error.strerror or str(error)
    if error.errno in DISK_FULL_ERRNOS:
        message = (
            f"could not {action}: the disk holding {where} is full ({reason}).\n"
            f"Free some space (see: df -h {path.anchor or '/'}), or use a folder on another disk:\n"
            f"  {other}"
        )
    else:
        blocker = next((p for p in (path, *path.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            cause = f"{blocker} is a file, not a folder"
        elif blocker is not None and blocker != path and error.errno == errno.ENOENT:
            cause = f"no folder can be created inside {blocker} ({reason})"
        else:
            cause = reason
        fix_permissions = (
            f"  mkdir -p {path} && chmod u+rwx {path}   (if the folder should stay there)\n"
            if blocker is None or blocker.is_dir()
            else ""
        )
        message = (
            f"could not {action}: cannot create or write {where}: {cause}.\n"
            f"Fix it with one of:\n{fix_permissions}  {other}"
        )
    result = FolderError(error.errno, message)
    result.filename = str(path)
    return result


def ensure_folder(path: Path, setting: str | None = None, action: str = "create a folder") -> Path:
    """Create ``path`` (and its parents) if needed and check that it can be written.

    Raises:
        FolderError: naming ``path``, the ``setting`` that chose it, and the fix.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied", str(path))
    except OSError as error:
        raise folder_error(path, error, setting, action) from error
    return path


def data_dir(create: bool = False) -> Path:
    """Return the folder where the course caches downloads and exported images.

    Set ``AILM_DATA_DIR`` to move it; the default follows ``XDG_CACHE_HOME``
    (``~/.cache/ailm-course``). Reading data never needs it: the folder is only created
    (``create=True``) by the code that writes into it.

    Raises:
        FolderError: ``create=True`` and the folder cannot be created or written; the
            message names ``AILM_DATA_DIR`` and the fix.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        path = Path(configured).expanduser()
    else:
        cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        path = cache_home / "ailm-course"
    if create:
        ensure_folder(path, DATA_DIR_ENV, "create the data folder")
    return path


def results_dir() -> Path:
    """Return the folder where labs record their key figures (created if missing).

    Raises:
        FolderError: the folder cannot be created or written; the message names
            ``AILM_RESULTS_DIR`` and the fix.
    """
    configured = os.environ.get(RESULTS_DIR_ENV)
    path = Path(configured).expanduser() if configured else REPO_ROOT / "_build" / "results"
    return ensure_folder(path, RESULTS_DIR_ENV, "create the results folder")


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
    """Prepare TensorFlow before it is imported: fast CPU kernels, no start-up notices.

    Must run *before* ``import tensorflow`` (or ``import keras``) to have any effect;
    ``utils.tf_helpers`` calls it on import. It asks for oneDNN's optimised CPU kernels
    (``TF_ENABLE_ONEDNN_OPTS=1``: TensorFlow's own default depends on the processor, and
    ``0`` turns them off, which makes the course's convnet train about half as fast on
    the course's machine), hides TensorFlow's info and
    warning lines (``TF_CPP_MIN_LOG_LEVEL=2``) and drops the few notices that TensorFlow
    prints before reading that variable (see :mod:`utils.native_stderr`). Errors are
    still shown. A value you set yourself for either variable is kept.
    """
    from utils import native_stderr

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    native_stderr.drop_native_notices()


def num_threads() -> int | None:
    """CPU threads a lab may use for its tensor operations, from ``AILM_NUM_THREADS``.

    ``None`` (the variable unset or empty) leaves the frameworks' defaults, which use
    every core: best when one lab runs alone. The test suite runs two notebooks at once
    and gives each one thread (``AILM_NUM_THREADS=1``): two kernels that each start two
    threads on a 2-core machine make those threads wait for each other.

    Raises:
        ValueError: the variable is set to something other than a whole number >= 1.
    """
    value = os.environ.get(NUM_THREADS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"{NUM_THREADS_ENV}={value!r} is not a whole number >= 1: set it to the number "
            f"of CPU threads a lab may use (e.g. {NUM_THREADS_ENV}=2), or unset it to use "
            "every core"
        )
    return int(value)


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
