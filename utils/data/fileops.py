"""Writing files safely: atomic replacement, unique temporary names, a lock between processes.

* A file or folder is written under a unique temporary name in the folder it belongs to,
  then renamed into place with :func:`os.replace`: a reader sees the old version or the
  new one, never half of one, and an interrupted run leaves only a temporary name.
* Two processes never share a temporary name (:func:`tempfile.mkstemp` /
  :func:`tempfile.mkdtemp`).
* :func:`folder_lock` serialises the processes that write into one folder (the two twins
  of a lab exporting the same images at once).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from utils import config

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: os.replace and unique names still hold
    fcntl = None  # type: ignore[assignment]


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 less the process's umask."""
    try:  # Linux reports the umask without changing it
        status = Path("/proc/self/status").read_text(encoding="ascii")
        umask = int(next(line for line in status.splitlines() if line.startswith("Umask:"))[6:], 8)
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)  # elsewhere: read it by setting it, then put it back
        os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(
    path: Path, content: bytes, setting: str | None = None, action: str = "write a file"
) -> Path:
    """Write ``content`` to ``path`` through a unique temporary file and :func:`os.replace`.

    Raises:
        utils.config.FolderError: the folder cannot be written (permissions, a full disk),
            naming the folder, the ``setting`` that chose it and the fix.
    """
    path = Path(path)
    temporary = None
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        temporary = Path(name)
        os.chmod(descriptor, _default_file_mode())  # mkstemp makes 0600; keep the usual mode
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise config.folder_error(path.parent, error, setting, action) from error
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return path


def atomic_write_text(
    path: Path, text: str, setting: str | None = None, action: str = "write a file"
) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), setting, action)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` on the folder itself) while in the block.

    No lock file is left behind. Where ``fcntl`` does not exist (Windows) the block runs
    unlocked; unique temporary names and :func:`os.replace` still keep writers apart.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
