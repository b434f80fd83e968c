"""Listing an image-folder tree (``<directory>/<class folder>/<file>.png``) as a data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from utils.data.errors import DataNotFoundError
from utils.data.export import MANIFEST, read_manifest
from utils.data.splits import SPLIT_NAMES, check_split_name


def _missing_folder_error(directory: Path) -> Exception:
    """The clearest error for a folder that does not exist, e.g. a mistyped split."""
    root = directory.parent
    if (root / MANIFEST).is_file():
        check_split_name(directory.name, "split (the last part of directory)")
        manifest = read_manifest(root) or {}
        exported = [split for split in SPLIT_NAMES if split in manifest.get("per_class", {})]
        return DataNotFoundError(
            f"{directory} does not exist: this export holds the splits {exported}. "
            f"Export the {directory.name!r} split too, e.g. "
            f"data.export_image_folders(splits, per_class={{..., {directory.name!r}: 100}})"
        )
    return DataNotFoundError(
        f"{directory} is not a folder; create it with utils.data.export_image_folders()"
    )


def image_folder_files(directory: Path | str) -> tuple[list[Path], np.ndarray]:
    """List the images of a ``<directory>/<class folder>/<file>`` tree, as a Dataset needs.

    Classes are numbered by the sorted folder names (the rule of
    ``keras.utils.image_dataset_from_directory``); files are sorted within each folder.

    Args:
        directory: a folder of class folders, e.g. ``export_root / "train"``.

    Returns:
        ``(paths, labels)``: a list of ``Path`` and an ``int64`` array of the same length.

    Raises:
        ValueError: ``directory`` names a split of an export that is not a split name
            (``"valid"``); the message lists ``train``, ``val``, ``test``.
        DataNotFoundError: ``directory`` does not exist (the message says how to create it).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise _missing_folder_error(directory)
    class_dirs = sorted(path for path in directory.iterdir() if path.is_dir())
    paths, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(path for path in class_dir.iterdir() if path.suffix.lower() == ".png")
        paths.extend(files)
        labels.extend([label] * len(files))
    return paths, np.array(labels, dtype=np.int64)
