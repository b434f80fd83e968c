"""Fixtures shared by the book and site tests: one book build per test session."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.booktools import BUILD, HTML, REPO_ROOT


@pytest.fixture(scope="session")
def build_log() -> str:
    """Build the book once with ``-W -n --keep-going`` and return its log.

    The build shares ``make book``'s jupyter-cache; notebooks that nbval executed
    earlier in the session are taken from there instead of being executed again.
    """
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [str(jupyter_book), "build", str(REPO_ROOT), "-W", "-n", "--keep-going"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    log = proc.stdout + proc.stderr
    BUILD.mkdir(exist_ok=True)
    (BUILD / "book-build.log").write_text(log, encoding="utf-8")
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    return log


@pytest.fixture(scope="session")
def site_url(build_log) -> str:
    """Serve the built site on a free loopback port for the browser tests."""
    handler = functools.partial(QuietHandler, directory=str(HTML))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass
