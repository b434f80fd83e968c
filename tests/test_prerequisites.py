"""Tests of scripts/check_prerequisites.py: what `make` checks before installing anything."""

from __future__ import annotations

import os
import subprocess
import sys

from utils import config
from utils.data import sources

SCRIPT = config.REPO_ROOT / "scripts" / "check_prerequisites.py"


def _run(tmp_path, *arguments, path=None, **environment):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("AILM_ALLOW_DOWNLOAD", "AILM_DATA_DIR")
    }
    env.update(AILM_DATA_DIR=str(tmp_path / "data"), **environment)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=config.REPO_ROOT,
    )


def test_the_script_knows_the_data_layer_s_locations():
    namespace: dict = {}
    exec(compile(SCRIPT.read_text(), str(SCRIPT), "exec"), namespace)
    assert namespace["FASHION_MNIST_DEBIAN_DIR"] == str(sources.FASHION_MNIST_DEBIAN_DIR)
    assert tuple(namespace["FASHION_MNIST_FILES"]) == tuple(sources.FASHION_MNIST_FILES)


def test_everything_missing_is_listed_in_one_message(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = _run(
        tmp_path, "--for", "test", "--debian-dir", str(tmp_path / "absent"), path=str(empty)
    )
    assert result.returncode == 1
    message = result.stderr
    assert "needs 2 thing(s)" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "AILM_ALLOW_DOWNLOAD=1 make setup" in message
    assert "sudo apt-get install chromium chromium-driver" in message
    assert "Traceback" not in message


def test_a_book_build_does_not_need_chromium_and_a_download_may_replace_debian(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = _run(
        tmp_path,
        "--for",
        "book",
        "--debian-dir",
        str(tmp_path / "absent"),
        path=str(empty),
        AILM_ALLOW_DOWNLOAD="1",
    )
    assert result.returncode == 0, result.stderr


def test_a_downloaded_copy_counts(tmp_path):
    cache = tmp_path / "data" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in sources.FASHION_MNIST_FILES:
        (cache / name).write_bytes(b"")
    result = _run(tmp_path, "--for", "setup", "--debian-dir", str(tmp_path / "absent"))
    assert result.returncode == 0, result.stderr
