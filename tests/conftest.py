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

from tests.booktools import BUILD, HTML, REPO_ROOT, ZH_BUILD_LOG

I18N_SCRIPT = REPO_ROOT / "scripts" / "i18n.py"


@pytest.fixture(scope="session")
def build_log() -> str:
    """Build the book once, as ``make book`` does, and return the log of both languages.

    The English site (``jupyter-book build . -W -n --keep-going``) shares ``make book``'s
    jupyter-cache; notebooks that nbval executed earlier in the session are taken from
    there instead of being executed again. The Chinese site (``scripts/i18n.py build``,
    with the same flags) follows into ``_build/html/zh_CN`` and executes nothing.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    builds = [
        ("English", [str(jupyter_book), "build", str(REPO_ROOT), "-W", "-n", "--keep-going"]),
        ("Chinese", [sys.executable, str(I18N_SCRIPT), "build", "-W", "-n", "--keep-going"]),
    ]
    logs = []
    BUILD.mkdir(exist_ok=True)
    log_files = (BUILD / "book-build.log", ZH_BUILD_LOG)
    for (name, command), log_file in zip(builds, log_files, strict=True):
        proc = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600
        )
        log = proc.stdout + proc.stderr
        log_file.write_text(log, encoding="utf-8")
        assert proc.returncode == 0, f"the {name} book build failed:\n{log[-6000:]}"
        logs.append(log)
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
