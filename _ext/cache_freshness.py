"""Keep the book's execution cache honest: outputs are dropped when what they depend on changed.

jupyter-cache (``execute_notebooks: cache``) keys each executed notebook on its *code
cells only*. A notebook that imports ``utils`` or reads a data file therefore keeps its
old outputs after ``utils/``, the pinned packages or the data change, and the site
would show figures that the current code no longer produces.

This module computes a *dependency fingerprint*: a hash of every source and data file
of the ``utils`` package (which also holds the data sets' checksums), the pinned
requirements, ``pyproject.toml`` and the Python version. The fingerprint under which
the cached records were made is stored beside them, in
``<cache>/dependency-fingerprint.json``. Before anything executes (the book build's
``builder-inited`` event, the start of a pytest session), :func:`drop_stale_records`
compares the two; when they differ, every cached record is removed, so each notebook
executes again, and the new fingerprint is written.

It is used by ``_ext/course_html.py`` (the book build) and by the root ``conftest.py``
(nbval), and imports nothing beyond the standard library at module level.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FINGERPRINT_FILE = "dependency-fingerprint.json"

#: What an executed notebook may depend on besides its own code, relative to the root.
#: Folders are walked for the given suffixes; files are taken as they are.
DEPENDENCIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("utils", (".py", ".txt", ".json")),
    ("requirements.txt", ()),
    ("requirements-nodeps.txt", ()),
    ("pyproject.toml", ()),
)


def dependency_files(root: Path = REPO_ROOT) -> list[Path]:
    """Every file whose content the fingerprint covers, sorted, relative paths resolved.

    Args:
        root: the repository root (the folder holding ``utils/``).

    Raises:
        FileNotFoundError: if ``root`` holds none of the dependencies (a wrong root).
    """
    found: list[Path] = []
    for relative, suffixes in DEPENDENCIES:
        path = root / relative
        if path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
            ]
        elif path.is_file():
            found.append(path)
    if not found:
        raise FileNotFoundError(
            f"root={str(root)!r} holds none of {[d for d, _ in DEPENDENCIES]}: "
            "pass the repository root"
        )
    return sorted(found)


def dependency_fingerprint(root: Path = REPO_ROOT, files: Iterable[Path] | None = None) -> str:
    """A 16-hex-digit hash of the dependency files' names and contents and the Python version.

    Args:
        root: the repository root; file names enter the hash relative to it.
        files: the files to hash (default: :func:`dependency_files` of ``root``).
    """
    digest = hashlib.sha256(f"python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    for path in sorted(files if files is not None else dependency_files(root)):
        digest.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def stored_fingerprint(cache_path: Path) -> str | None:
    """The fingerprint under which the records in ``cache_path`` were made (None: unknown)."""
    try:
        return json.loads((cache_path / FINGERPRINT_FILE).read_text(encoding="utf-8"))[
            "fingerprint"
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def drop_stale_records(cache_path: Path, root: Path = REPO_ROOT) -> list[str]:
    """Remove every cached notebook if the dependencies changed since it was executed.

    Args:
        cache_path: the jupyter-cache folder (``_build/.jupyter_cache``). It need not exist.
        root: the repository root whose dependencies are fingerprinted.

    Returns:
        The URIs (source paths) of the records removed; empty when the cache was fresh.
        Afterwards ``cache_path`` holds the current fingerprint.
    """
    cache_path = Path(cache_path)
    current = dependency_fingerprint(root)
    removed: list[str] = []
    if stored_fingerprint(cache_path) != current and (cache_path / "global.db").exists():
        from jupyter_cache import get_cache

        cache = get_cache(str(cache_path))
        for record in cache.list_cache_records():
            removed.append(record.uri)
            cache.remove_cache(record.pk)
    cache_path.mkdir(parents=True, exist_ok=True)
    (cache_path / FINGERPRINT_FILE).write_text(
        json.dumps({"fingerprint": current}, indent=2) + "\n", encoding="utf-8"
    )
    return removed
