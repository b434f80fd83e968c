"""JupyterLab as ``make lab`` starts it: a lab opens as a notebook, MyST roles render.

Starts a real Jupyter server on 127.0.0.1 with the course's settings folder
(``jupyter_config/``, added to ``JUPYTER_CONFIG_PATH`` as the Makefile does) and asks
its REST API what a learner's browser would get: the default viewer of Python files,
and the front-end extensions it loads. The learner's own Jupyter folders are replaced by
temporary ones, so the test neither reads nor writes ``~/.jupyter``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.booktools import REPO_ROOT

JUPYTER = Path(sys.executable).with_name("jupyter")
COURSE_CONFIG = REPO_ROOT / "jupyter_config"


def test_the_course_settings_make_python_files_open_as_notebooks():
    overrides = json.loads(
        (COURSE_CONFIG / "labconfig" / "default_setting_overrides.json").read_text()
    )
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"python": "Jupytext Notebook"}
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter_config" in makefile


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """A JupyterLab server on a free loopback port, with the course's settings only."""
    home = tmp_path_factory.mktemp("jupyter-home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_PATH": str(COURSE_CONFIG),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(JUPYTER),
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={REPO_ROOT}",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),  # CI
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its kernels too can be ended as one group
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()}")
                time.sleep(0.3)
        yield base, token
    finally:
        # end the sessions (and kernels) a test's browser started, then the server
        try:
            with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as r:
                sessions = json.loads(r.read())
            for session in sessions:
                url = f"{base}/api/sessions/{session['id']}?token={token}"
                urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=60)
            shutdown = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(shutdown, timeout=10).close()
            server.wait(timeout=10)  # it can hang in an extension after a kernel ran
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _get(lab_server, path: str) -> str:
    base, token = lab_server
    separator = "&" if "?" in path else "?"
    with urllib.request.urlopen(f"{base}{path}{separator}token={token}", timeout=30) as reply:
        return reply.read().decode("utf-8")


@pytest.mark.slow
def test_the_running_server_opens_python_labs_as_notebooks(lab_server):
    reply = json.loads(
        _get(lab_server, "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    )
    # the course's override becomes the setting's default; no user setting replaces it here
    default = reply["schema"]["properties"]["defaultViewers"]["default"]
    assert default["python"] == "Jupytext Notebook"
    assert "defaultViewers" not in reply["settings"]


@pytest.mark.slow
def test_the_running_server_loads_jupytext_and_jupyterlab_myst(lab_server):
    page = _get(lab_server, "/lab")
    config = json.loads(
        re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
        ).group(1)
    )
    loaded = {extension["name"] for extension in config["federated_extensions"]}
    assert {"jupyterlab-myst", "jupyterlab-jupytext"} <= loaded
    disabled = config.get("disabledExtensions", [])
    assert not [
        name for name in disabled if name.startswith(("jupyterlab-myst", "jupyterlab-jupytext"))
    ]


@pytest.mark.slow
def test_jupyterlab_myst_is_installed_and_enabled():
    listing = subprocess.run(
        [str(JUPYTER), "labextension", "list"], capture_output=True, text=True, timeout=60
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)  # no colours
    assert re.search(r"jupyterlab-myst v\S+ enabled", text), text
    assert re.search(r"jupyterlab-jupytext v\S+ enabled", text), text


@pytest.mark.slow
@pytest.mark.browser
def test_a_lab_opens_as_a_notebook_with_its_myst_roles_rendered(lab_server):
    """What a learner sees: the notebook view, and {doc} roles as links, not raw braces.

    jupyterlab-myst 2.7.0 declares ``@jupyter/ydoc`` 3 while JupyterLab 4.6 ships 4, so
    ``jupyter labextension list`` flags it; this test shows it loads and renders anyway.
    """
    from tests.test_site import CHROMIUM, CHROMIUM_ARGS

    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: sudo apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    base, token = lab_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/lab/tree/labs/text_classification_tf.py?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=60_000)
            assert page.locator(".jp-FileEditor").count() == 0  # not the text editor
            first_cell = page.locator(".jp-MarkdownCell").first
            first_cell.locator("a", has_text="text_classification_torch").wait_for(timeout=30_000)
            assert "{doc}" not in first_cell.inner_text()
        finally:
            browser.close()
