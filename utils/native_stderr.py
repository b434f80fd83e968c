"""Keep known, harmless start-up notices of native libraries off pages and logs.

TensorFlow's C++ runtime writes some lines straight to file descriptor 2, before its
own log filter (``TF_CPP_MIN_LOG_LEVEL``) is read, so that variable cannot hide them:

- ``oneDNN custom operations are on ...``: printed whenever oneDNN's optimised CPU
  kernels are enabled (``TF_ENABLE_ONEDNN_OPTS=1``, or TensorFlow's default on processors
  with AVX-512 VNNI such as the course's), which the course wants, because they make the
  convolutions about twice as fast on the course's 2-core CPU;
- ``WARNING: All log messages before absl::InitializeLog() ...``: the line before it;
- ``oneDNN supports DT_BOOL only on platforms with AVX-512 ...``: logged when a masked
  LSTM runs, even on processors that have AVX-512; the computation falls back to the
  default kernel and is correct.

:func:`drop_native_notices` puts a filter between descriptor 2 and where it led: a pipe
whose reader thread forwards every line except those that match one of the patterns.
Everything else (errors, warnings, Python's own ``sys.stderr`` in a script) passes
through unchanged and in order. In a Jupyter kernel, descriptor 2 leads to the
kernel's capture pipe, so the notices no longer reach notebook outputs or the website.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

#: The lines that are dropped: each pattern is searched for in one line of bytes.
NOTICES: tuple[re.Pattern[bytes], ...] = (
    re.compile(rb"All log messages before absl::InitializeLog\(\) is called"),
    re.compile(rb"oneDNN custom operations are on"),
    re.compile(rb"oneDNN supports DT_BOOL only on platforms with AVX-512"),
)

_installed: dict[str, object] = {}
_lock = threading.Lock()


def drop_native_notices(patterns: tuple[re.Pattern[bytes], ...] = NOTICES) -> bool:
    """Filter the lines of descriptor 2 that match ``patterns``, for the rest of the process.

    Installs once per process; later calls do nothing. Lines written at exit are
    forwarded before the process ends.

    Args:
        patterns: compiled ``bytes`` regular expressions; a line that matches any of them
            is dropped.

    Returns:
        ``True`` when this call installed the filter, ``False`` when it was already there.
    """
    if not all(isinstance(pattern, re.Pattern) for pattern in patterns):
        raise TypeError("patterns must be compiled regular expressions, e.g. re.compile(rb'...')")
    with _lock:
        if _installed:
            return False
        sys.stderr.flush()
        original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        thread = threading.Thread(
            target=_forward, args=(read_end, original, patterns), daemon=True, name="stderr-filter"
        )
        thread.start()
        _installed.update(original=original, thread=thread)
        atexit.register(_restore)
        return True


def _forward(read_end: int, target: int, patterns: tuple[re.Pattern[bytes], ...]) -> None:
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as source:
        while chunk := source.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = [line for line in lines if not any(p.search(line) for p in patterns)]
            if kept:
                os.write(target, b"\n".join(kept) + b"\n")
    if pending and not any(p.search(pending) for p in patterns):
        os.write(target, pending)


def _restore() -> None:
    """Give descriptor 2 back its original target and wait for the lines still in the pipe."""
    with _lock:
        if not _installed:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        original = _installed["original"]
        os.dup2(original, 2)  # closes the pipe's last write end: the reader sees its end
        _installed["thread"].join(timeout=5)
        os.close(original)
        _installed.clear()
