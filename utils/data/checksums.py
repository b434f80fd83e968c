"""Checksums, before anything is used: whole files, and gzip files decompressed as a stream.

A gzip file is never decompressed in one piece: it is read in chunks, and reading stops
as soon as the content grows past the size recorded for it, so a damaged or hostile file
cannot exhaust memory.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

from utils.data.errors import DataCorruptError, DataNotFoundError
from utils.data.sources import IdxFile

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_for_reading(path: Path, remedy: str):  # noqa: ANN202 (a binary file object)
    try:
        return path.open("rb")
    except OSError as error:
        raise DataNotFoundError(
            f"cannot read {path}: {error.strerror or error}.\nFix it with:  {remedy}"
        ) from None


def read_checked(path: Path, sha256: str, remedy: str) -> bytes:
    """Read a whole file and check its SHA-256.

    Raises:
        DataCorruptError: the hash differs (the message shows both and the ``remedy``).
        DataNotFoundError: the file cannot be read.
    """
    with _open_for_reading(path, remedy) as stream:
        data = stream.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise DataCorruptError(
            f"{path} is damaged or not the expected version: SHA-256 {actual[:16]}... "
            f"({len(data):,} bytes) instead of {sha256[:16]}...\nFix it with:  {remedy}"
        )
    return data


def decompress_checked(path: Path, spec: IdxFile, remedy: str, keep: bool = True) -> bytes:
    """Decompress a gzip file in chunks, with a size cap, and check the content's SHA-256.

    Args:
        path: the ``.gz`` file.
        spec: the recorded SHA-256 and size of the decompressed content.
        remedy: the command that fixes a damaged file (it ends every message).
        keep: ``False`` only checks the file and returns ``b""`` (a download is checked
            this way without holding it in memory).

    Returns:
        The decompressed bytes (``spec.num_bytes`` of them) when ``keep`` is true.

    Raises:
        DataCorruptError: not a complete gzip file, more or fewer bytes than recorded,
            or another SHA-256.
    """
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    with _open_for_reading(path, remedy) as raw:
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > spec.num_bytes:
                        raise DataCorruptError(
                            f"{path} decompresses to more than the {spec.num_bytes:,} bytes "
                            f"recorded for it; it is not the expected file.\nFix it with:  {remedy}"
                        )
                    digest.update(chunk)
                    if keep:
                        kept += chunk
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise DataCorruptError(
                f"{path} is not a complete gzip file ({error or type(error).__name__}).\n"
                f"Fix it with:  {remedy}"
            ) from None
    actual = digest.hexdigest()
    if actual != spec.sha256:
        raise DataCorruptError(
            f"{path} decompresses to {size:,} bytes with SHA-256 {actual[:16]}..., "
            f"expected {spec.num_bytes:,} bytes with {spec.sha256[:16]}...\nFix it with:  {remedy}"
        )
    return bytes(kept)
