"""The errors of :mod:`utils.data`. Each message says what happened, which file, folder or
setting is at fault, and the command that fixes it."""

from __future__ import annotations

from utils.config import FolderError

__all__ = ["DataCorruptError", "DataFolderError", "DataNotFoundError", "ExportFolderError"]


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine. The message names the command that installs it."""


class DataCorruptError(OSError):
    """A data file does not match its recorded checksum (truncated, damaged or another version)."""


#: A folder the course needs cannot be created or written (permissions, a file in the way,
#: a read-only or full disk): the same class as :class:`utils.config.FolderError`.
DataFolderError = FolderError


class ExportFolderError(ValueError):
    """The target of an image export holds something the course did not write there.

    The course never deletes or overwrites such a folder; the message names it and says
    how to choose another one.
    """
