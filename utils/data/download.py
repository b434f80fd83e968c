"""Downloading Fashion-MNIST, only when allowed: HTTPS first, streamed, capped, checked.

Each file is streamed into a unique temporary file beside its final place (so two
processes fetching at once never write the same file), with a cap on its size; the
gzip is then decompressed as a stream and its content's SHA-256 checked; only a file
that passes is renamed into place. The failures are told apart: a network problem
moves on to the next mirror; a folder that cannot be written or a full disk stops at
once with a :class:`~utils.config.FolderError` naming ``AILM_DATA_DIR``.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from utils import config
from utils.data import checksums, fileops, sources
from utils.data.errors import DataCorruptError, DataNotFoundError

_CHUNK = 1 << 16


class _TooLarge(Exception):
    pass


def _stream_to(url: str, destination: Path, max_bytes: int, progress: bool, label: str) -> None:
    """Stream ``url`` into the already created file ``destination``.

    Network failures raise ``urllib.error.URLError``/``OSError`` *before* a byte is
    written or while reading; a failing write raises :class:`~utils.config.FolderError`.
    """
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        if total is not None and total > max_bytes:
            raise _TooLarge(f"the server announces {total:,} bytes, over the cap of {max_bytes:,}")
        received = 0
        try:
            out = destination.open("wb", buffering=0)  # a write error surfaces at write()
        except OSError as error:
            raise config.folder_error(
                destination.parent, error, config.DATA_DIR_ENV, "save the download"
            ) from error
        with (
            out,
            tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress) as bar,
        ):
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise _TooLarge(f"more than the cap of {max_bytes:,} bytes")
                try:
                    out.write(chunk)
                except OSError as error:
                    raise config.folder_error(
                        destination.parent, error, config.DATA_DIR_ENV, "save the download"
                    ) from error
                bar.update(len(chunk))


def download_fashion_mnist(folder: Path, names: Sequence[str], progress: bool = True) -> None:
    """Download ``names`` into ``folder``; keep a file only once its content checksum matches.

    Raises:
        utils.config.FolderError: ``folder`` cannot be created or written, or the disk is
            full (the message names ``AILM_DATA_DIR`` and the fix).
        DataNotFoundError: every mirror failed (each failure is listed).
    """
    config.ensure_folder(folder, config.DATA_DIR_ENV, "create the download folder")
    for name in names:
        spec = sources.FASHION_MNIST_FILES[name]
        failures = []
        for base in sources.FASHION_MNIST_URLS:
            try:
                descriptor, temporary_name = tempfile.mkstemp(
                    prefix=f".{name}.", suffix=".part", dir=folder
                )
                os.chmod(descriptor, fileops._default_file_mode())  # not mkstemp's 0600
                os.close(descriptor)
            except OSError as error:
                raise config.folder_error(
                    folder, error, config.DATA_DIR_ENV, "save the download"
                ) from error
            temporary = Path(temporary_name)
            try:
                try:
                    _stream_to(base + name, temporary, sources.MAX_DOWNLOAD_BYTES, progress, name)
                except config.FolderError:
                    raise
                except (OSError, http.client.HTTPException, _TooLarge) as error:
                    # URLError, timeouts, resets and TLS errors are all OSErrors here:
                    # every local write inside _stream_to raises FolderError instead
                    failures.append(f"  {base + name}: {error}")
                    continue
                try:
                    checksums.decompress_checked(
                        temporary, spec, "the download was damaged; try again", keep=False
                    )
                except DataCorruptError as error:
                    failures.append(f"  {base + name}: {error}")
                    continue
                try:
                    os.replace(temporary, folder / name)
                except OSError as error:
                    raise config.folder_error(
                        folder, error, config.DATA_DIR_ENV, "save the download"
                    ) from error
            finally:
                temporary.unlink(missing_ok=True)
            break
        else:
            raise DataNotFoundError(
                f"could not download {name}; every source failed (network, server, damaged file):\n"
                + "\n".join(failures)
                + "\nCheck the connection and run again:  "
                + sources.FASHION_MNIST_FETCH
                + f"\nor install it offline instead with:  {sources.FASHION_MNIST_APT_INSTALL}"
            )
