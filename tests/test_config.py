from __future__ import annotations

import random

import numpy as np
import pytest

from utils import config


def test_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "somewhere"))
    assert config.data_dir() == tmp_path / "somewhere"
    assert not config.data_dir().exists()  # reading never creates it
    assert config.data_dir(create=True).is_dir()


def test_data_dir_default_is_under_the_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv(config.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / "ailm-course"


def test_results_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RESULTS_DIR_ENV, str(tmp_path / "results"))
    assert config.results_dir() == tmp_path / "results"


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("0", False), ("yes", True), ("", False)]
)
def test_download_allowed(monkeypatch, value, expected):
    monkeypatch.setenv(config.ALLOW_DOWNLOAD_ENV, value)
    assert config.download_allowed() is expected


def test_download_allowed_rejects_nonsense(monkeypatch):
    monkeypatch.setenv(config.ALLOW_DOWNLOAD_ENV, "perhaps")
    with pytest.raises(ValueError, match="AILM_ALLOW_DOWNLOAD"):
        config.download_allowed()


def test_seed_everything_makes_generators_repeat():
    # the legacy global generator is exactly what seed_everything seeds
    config.seed_everything(7)
    first = (random.random(), np.random.rand())
    config.seed_everything(7)
    assert (random.random(), np.random.rand()) == first


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(seed)


def test_quiet_tensorflow_sets_both_variables(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr("utils.native_stderr.drop_native_notices", lambda: True)
    config.quiet_tensorflow()
    import os

    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"  # oneDNN's fast CPU kernels on


def test_quiet_tensorflow_keeps_a_learners_choice(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    monkeypatch.setattr("utils.native_stderr.drop_native_notices", lambda: True)
    config.quiet_tensorflow()
    import os

    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


@pytest.mark.parametrize(("value", "expected"), [("", None), ("1", 1), (" 3 ", 3)])
def test_num_threads_reads_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(config.NUM_THREADS_ENV, value)
    assert config.num_threads() == expected


def test_num_threads_unset_means_the_frameworks_default(monkeypatch):
    monkeypatch.delenv(config.NUM_THREADS_ENV, raising=False)
    assert config.num_threads() is None


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_num_threads_rejects_bad_values(monkeypatch, value):
    monkeypatch.setenv(config.NUM_THREADS_ENV, value)
    with pytest.raises(ValueError, match="AILM_NUM_THREADS"):
        config.num_threads()


def test_importing_utils_imports_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, utils, utils.config, utils.results; "
        "print('tensorflow' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
