"""Writing a class-balanced subset of an image data set as PNG folders, safely.

Safety rules, each with a test in ``tests/test_faults.py``:

* a folder is replaced only when it holds an export of the course: its ``manifest.json``
  parses, names our format and the same data set, and every other entry is a split /
  class folder / ``<index>.png`` that the export writes. Anything else is left alone
  and an :class:`~utils.data.errors.ExportFolderError` names the folder;
* the export is written into a unique temporary sibling folder and renamed into place;
  the earlier export is moved aside first and deleted only after the new one is there;
* the processes that export into one parent folder take turns (a lock on that folder);
* ``manifest.json`` records a SHA-256 of every PNG, so a damaged or truncated image is
  found (and the export written again) before a data pipeline trips over it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from utils import config
from utils.config import SEED
from utils.data import fileops, sources
from utils.data.errors import ExportFolderError
from utils.data.splits import SPLIT_NAMES, ImageSplits, _check_seed, _subsample_indices

MANIFEST = "manifest.json"
#: Format 2 adds the SHA-256 of every file; format 1 (count only) is still recognised as ours.
EXPORT_FORMAT = 2
_KNOWN_FORMATS = (1, 2)
_PNG_NAME = re.compile(r"\d+\.png")


def _per_split_counts(per_class: int | dict[str, int]) -> dict[str, int]:
    if isinstance(per_class, dict):
        unknown = set(per_class) - set(SPLIT_NAMES)
        if unknown or not per_class:
            raise ValueError(f"per_class keys must be among {SPLIT_NAMES}, got {sorted(per_class)}")
        counts = dict(per_class)
    else:
        counts = dict.fromkeys(SPLIT_NAMES, per_class)
    for split, count in counts.items():
        if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 1:
            raise ValueError(f"per_class[{split!r}] must be a positive int, got {count!r}")
    return {split: int(counts[split]) for split in SPLIT_NAMES if split in counts}


def _check_export_root(root: Path) -> Path:
    """Refuse roots inside the repository, except its ignored ``_build/`` and ``data/``."""
    root = root.expanduser().resolve()
    repo = config.REPO_ROOT.resolve()
    allowed = (repo / "_build", repo / "data")
    if root.is_relative_to(repo) and not any(root.is_relative_to(base) for base in allowed):
        raise ValueError(
            f"root={str(root)!r} lies inside the course repository ({repo}); exports go to "
            "the data folder (leave root=None, or set AILM_DATA_DIR) so that no generated "
            "image lands beside the sources"
        )
    return root


def _class_folders(splits: ImageSplits) -> tuple[str, ...]:
    if splits.class_names == sources.FASHION_MNIST_CLASSES:
        return sources.FASHION_MNIST_FOLDERS
    width = len(str(len(splits.class_names) - 1))
    return tuple(
        f"{label:0{width}d}_" + "".join(ch if ch.isalnum() else "_" for ch in name.lower())
        for label, name in enumerate(splits.class_names)
    )


def _not_ours(root: Path, why: str) -> ExportFolderError:
    return ExportFolderError(
        f"root={str(root)!r} {why}, so it is not an export of this course and is left "
        "untouched. Choose an empty or new folder (or leave root=None to use the data "
        "folder); delete this one yourself only if you are sure you do not need it."
    )


def read_manifest(root: Path, dataset: str | None = None) -> dict[str, Any] | None:
    """Return the manifest of the course's export in ``root``; ``None`` if ``root`` is
    absent or empty.

    Args:
        root: an export folder.
        dataset: when given, the manifest must name this data set (``splits.name``).

    Raises:
        ExportFolderError: ``root`` holds anything that is not an export of the course
            written by :func:`export_image_folders` (a foreign or unreadable manifest, a
            file of yours, a file in place of the folder).
    """
    try:
        if not root.exists():
            return None
        if not root.is_dir():
            raise _not_ours(root, "is a file, not a folder")
        entries = sorted(root.iterdir())
        if not entries:
            return None
        path = root / MANIFEST
        if not path.is_file():
            raise _not_ours(root, f"exists and holds files that are not an export (no {MANIFEST})")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise _not_ours(root, f"holds a {MANIFEST} that is not valid JSON") from None
        if (
            not isinstance(manifest, dict)
            or manifest.get("format") not in _KNOWN_FORMATS
            or not isinstance(manifest.get("dataset"), str)
            or not isinstance(manifest.get("class_folders"), list)
        ):
            raise _not_ours(root, f"holds a {MANIFEST} written by something else")
        if dataset is not None and manifest["dataset"] != dataset:
            raise _not_ours(root, f"holds an export of another data set ({manifest['dataset']!r})")
        class_folders = set(manifest["class_folders"])
        for entry in entries:
            if entry.name == MANIFEST:
                continue
            if entry.name not in SPLIT_NAMES or entry.is_symlink() or not entry.is_dir():
                raise _not_ours(root, f"holds {entry.name!r}, which no export writes")
            for class_dir in entry.iterdir():
                if class_dir.name not in class_folders or not class_dir.is_dir():
                    raise _not_ours(root, f"holds {class_dir}, which no export writes")
                for file in class_dir.iterdir():
                    if not _PNG_NAME.fullmatch(file.name) or not file.is_file():
                        raise _not_ours(root, f"holds {file}, which no export writes")
    except OSError as error:
        raise ExportFolderError(
            f"root={str(root)!r} cannot be checked ({error.strerror or error}); nothing was "
            "deleted or written. Fix the folder's permissions or choose another root."
        ) from None
    return manifest


def _file_digests(root: Path, manifest: dict[str, Any]) -> dict[str, str]:
    digests = {}
    for split in manifest["per_class"]:
        for path in sorted((root / split).glob("*/*.png")):
            relative = path.relative_to(root).as_posix()
            digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    return digests


def verify_export(root: Path, request: dict[str, Any]) -> str | None:
    """Check an export of the course against ``request`` (the manifest's request fields).

    Returns:
        ``None`` when ``root`` holds exactly the requested export, every PNG intact;
        otherwise a sentence saying what differs (e.g. which PNG is damaged).
    """
    manifest = read_manifest(root)
    if manifest is None:
        return "there is no export yet"
    if {key: manifest.get(key) for key in request} != request:
        return "it holds another request (other counts, seed or split)"
    recorded = manifest.get("sha256")
    if not isinstance(recorded, dict):
        return "it was written by an older version without checksums"
    try:
        actual = _file_digests(root, manifest)
    except OSError as error:
        return f"a file cannot be read ({error})"
    for name, digest in recorded.items():
        if actual.get(name) != digest:
            state = "missing" if name not in actual else "damaged or changed"
            return f"{root / name} is {state}"
    if set(actual) - set(recorded):
        return "it holds PNG files the manifest does not list"
    return None


def _swap_into_place(staging: Path, root: Path) -> None:
    """Rename ``staging`` to ``root``; an earlier export of ours is moved aside first and
    deleted only once the new one is in place."""
    if not root.exists():
        os.replace(staging, root)
        return
    if not any(root.iterdir()):
        root.rmdir()  # only an empty folder is in the way
        os.replace(staging, root)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
    aside.rmdir()  # a unique name, free again for the rename
    os.replace(root, aside)
    os.replace(staging, root)
    shutil.rmtree(aside)  # checked by read_manifest: only our own files


def export_image_folders(
    splits: ImageSplits,
    per_class: int | dict[str, int] = 100,
    root: Path | None = None,
    seed: int = SEED,
    progress: bool = True,
) -> Path:
    """Write a class-balanced subset of ``splits`` as PNG files, one folder per class.

    Layout: ``<root>/{train,val,test}/<class folder>/<index>.png``, where the class folders
    are :data:`~utils.data.FASHION_MNIST_FOLDERS` (for Fashion-MNIST; ``<label>_<name>``
    otherwise): their alphabetical order is the label order, which is how
    ``keras.utils.image_dataset_from_directory`` and
    :func:`~utils.data.image_folder_files` number the classes. ``<index>`` is the image's
    position in ``splits.x_<split>``. A ``manifest.json`` records the request and the
    SHA-256 of every file.

    Idempotent: a root that already holds a complete, intact export of the same request is
    returned untouched. A root holding an earlier export of the course (another request,
    or a damaged file) is replaced; a root holding anything else raises
    :class:`~utils.data.errors.ExportFolderError` and is left untouched.

    Args:
        splits: images ``uint8 (N, H, W)``.
        per_class: images per class in every split, or a dict such as
            ``{"train": 200, "val": 50, "test": 50}`` (splits left out are not written).
        root: target folder; by default
            ``data_dir()/fashion-mnist-png/<fingerprint>_<counts>_seed<seed>``.
            Must not lie inside the repository (except its ignored ``_build/`` and ``data/``).
        seed: seed of the per-class subsampling.
        progress: show a progress bar.

    Returns:
        The root folder.

    Raises:
        ExportFolderError: ``root`` holds something the course did not write.
        utils.config.FolderError: the folder cannot be created or written, or the disk
            is full (the message names the setting and the fix).
    """
    from PIL import Image

    if not isinstance(splits, ImageSplits):
        raise TypeError(f"splits must be an ImageSplits, got {type(splits).__name__}")
    if splits.x_train.dtype != np.uint8:
        raise TypeError(f"images must be uint8 to be written as PNG, got {splits.x_train.dtype}")
    counts = _per_split_counts(per_class)
    _check_seed(seed)
    fingerprint = splits.fingerprint()
    setting: str | None = None
    if root is None:
        key = "_".join(f"{split}{count}" for split, count in counts.items())
        folder = f"{splits.name.replace('_', '-')}-png"
        root = config.data_dir() / folder / f"{fingerprint}_{key}_seed{seed}"
        setting = config.DATA_DIR_ENV
    root = _check_export_root(Path(root))
    folders = _class_folders(splits)
    chosen = {
        split: np.sort(_subsample_indices(getattr(splits, f"y_{split}"), count, seed))
        for split, count in counts.items()
    }
    request = {
        "format": EXPORT_FORMAT,
        "dataset": splits.name,
        "fingerprint": fingerprint,
        "seed": int(seed),
        "per_class": counts,
        "class_folders": list(folders),
        "files": {split: len(index) for split, index in chosen.items()},
    }
    parent = config.ensure_folder(root.parent, setting, "create the export folder")
    with fileops.folder_lock(parent):
        if read_manifest(root, splits.name) is not None:  # raises for anything not ours
            problem = verify_export(root, request)
            if problem is None:
                return root
            if "another request" not in problem:
                warnings.warn(
                    f"the export in {root} is written again: {problem}",
                    RuntimeWarning,
                    stacklevel=2,
                )
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".new", dir=parent))
        except OSError as error:
            raise config.folder_error(parent, error, setting, "write the PNG export") from error
        try:
            digests = _write_pngs(Image, splits, chosen, folders, staging, progress)
            manifest = {**request, "sha256": digests}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
            _swap_into_place(staging, root)
        except OSError as error:
            raise config.folder_error(parent, error, setting, "write the PNG export") from error
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return root


def _write_pngs(
    image_module: Any,
    splits: ImageSplits,
    chosen: dict[str, np.ndarray],
    folders: tuple[str, ...],
    staging: Path,
    progress: bool,
) -> dict[str, str]:
    from tqdm import tqdm

    digests = {}
    total = sum(len(index) for index in chosen.values())
    with tqdm(total=total, unit="img", desc="export PNG", disable=not progress) as bar:
        for split, index in chosen.items():
            images, labels = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
            for folder in folders:
                (staging / split / folder).mkdir(parents=True)
            width = len(str(len(labels)))
            for i in index:
                relative = f"{split}/{folders[labels[i]]}/{i:0{width}d}.png"
                buffer = io.BytesIO()
                image_module.fromarray(np.ascontiguousarray(images[i])).save(buffer, format="PNG")
                content = buffer.getvalue()
                (staging / relative).write_bytes(content)
                digests[relative] = hashlib.sha256(content).hexdigest()[:32]
                bar.update(1)
    return digests
