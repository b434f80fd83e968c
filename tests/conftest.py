"""Fixtures shared by the book and site tests: one book build per test session."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.booktools import ENGLISH_BUILD_LOG, HTML, REPO_ROOT, ZH_BUILD_LOG

BOOK_SCRIPT = REPO_ROOT / "scripts" / "book.py"


@pytest.fixture(scope="session")
def build_log() -> str:
    """Build the book once, as ``make book`` does, and return the log of both languages.

    ``scripts/book.py -W -n --keep-going`` builds the English site and, beside it, the
    Chinese one (which executes nothing and waits for the English build where it must),
    and writes each build's log to ``_build/``. The English build shares ``make book``'s
    jupyter-cache: notebooks that nbval executed earlier in the session are taken from
    there instead of being executed again.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, str(BOOK_SCRIPT), "-W", "-n", "--keep-going"]
    proc = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the book build failed:\n{output[-6000:]}"
    logs = [path.read_text(encoding="utf-8") for path in (ENGLISH_BUILD_LOG, ZH_BUILD_LOG)]
    return "\n".join(logs)


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
