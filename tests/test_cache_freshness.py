"""Executed outputs are never stale: a change in what a notebook imports makes it run again.

The unit tests drive ``_ext/cache_freshness.py`` directly; the slow test builds a tiny
Jupyter Book twice with the course's extension and sees the second build re-execute a
notebook whose code did not change but whose imported module did.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from _ext import cache_freshness
from tests.booktools import REPO_ROOT


def make_root(folder: Path, value: int = 1) -> Path:
    """A miniature repository: a ``utils`` package with one module, and a pin file."""
    (folder / "utils").mkdir(parents=True, exist_ok=True)
    (folder / "utils" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "utils" / "dependency.py").write_text(f"VALUE = {value}\n", encoding="utf-8")
    (folder / "requirements.txt").write_text("numpy==2.4.6\n", encoding="utf-8")
    return folder


def cache_one_notebook(cache_path: Path, source: Path) -> None:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    get_cache(str(cache_path)).cache_notebook_bundle(
        CacheBundleIn(notebook, str(source)), check_validity=False, overwrite=True
    )


def cached_uris(cache_path: Path) -> list[str]:
    from jupyter_cache import get_cache

    return [record.uri for record in get_cache(str(cache_path)).list_cache_records()]


def test_the_fingerprint_follows_utils_and_the_pins(tmp_path):
    root = make_root(tmp_path)
    first = cache_freshness.dependency_fingerprint(root)
    assert first == cache_freshness.dependency_fingerprint(root)  # deterministic
    (root / "utils" / "dependency.py").write_text("VALUE = 2\n", encoding="utf-8")
    second = cache_freshness.dependency_fingerprint(root)
    assert second != first
    (root / "requirements.txt").write_text("numpy==2.4.7\n", encoding="utf-8")
    assert cache_freshness.dependency_fingerprint(root) not in {first, second}


def test_the_fingerprint_covers_the_real_dependencies():
    files = {p.relative_to(REPO_ROOT).as_posix() for p in cache_freshness.dependency_files()}
    # the data sets' checksums live in utils/data (a module or a package)
    assert any(name.startswith("utils/data") for name in files), sorted(files)
    assert {"utils/config.py", "requirements.txt", "requirements-nodeps.txt"} <= files
    assert not any("__pycache__" in name for name in files)


def test_a_wrong_root_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="root"):
        cache_freshness.dependency_files(tmp_path)


def test_stale_records_are_dropped_and_fresh_ones_kept(tmp_path):
    root = make_root(tmp_path / "repo")
    cache_path = tmp_path / "cache"
    source = root / "lab.md"
    cache_one_notebook(cache_path, source)
    # a cache made before fingerprints were stored: its origin is unknown, so it goes
    assert cache_freshness.drop_stale_records(cache_path, root) == [str(source)]
    cache_one_notebook(cache_path, source)
    assert cache_freshness.drop_stale_records(cache_path, root) == []  # nothing changed
    assert cached_uris(cache_path) == [str(source)]
    (root / "utils" / "dependency.py").write_text("VALUE = 2\n", encoding="utf-8")
    assert cache_freshness.drop_stale_records(cache_path, root) == [str(source)]
    assert cached_uris(cache_path) == []
    stored = cache_freshness.stored_fingerprint(cache_path)
    assert stored == cache_freshness.dependency_fingerprint(root)


def test_a_missing_cache_is_not_an_error(tmp_path):
    root = make_root(tmp_path / "repo")
    assert cache_freshness.drop_stale_records(tmp_path / "no-cache-yet", root) == []


PAGE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A page that imports a helper

```{code-cell} ipython3
from utils import dependency

print(f"the helper says {dependency.VALUE * 7}")
```
"""

CONFIG = """\
title: freshness
only_build_toc_files: true
exclude_patterns: [".*", "**/.*", "_build", "utils", "_ext"]
execute:
  execute_notebooks: cache
  cache: "_build/.jupyter_cache"
sphinx:
  local_extensions:
    course_html: _ext/
"""


def build(book: Path) -> str:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jupyter_book), "build", str(book), "-W", "-n"],
        cwd=book,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return (book / "_build" / "html" / "page.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.book
def test_a_changed_helper_makes_an_unchanged_notebook_execute_again(tmp_path):
    book = make_root(tmp_path / "book", value=6)
    shutil.copytree(REPO_ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__py*"))
    (book / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n", encoding="utf-8")
    (book / "page.md").write_text(PAGE, encoding="utf-8")
    assert "the helper says 42" in build(book)
    assert "the helper says 42" in build(book)  # nothing changed: taken from the cache
    # the page's code is unchanged, so jupyter-cache alone would serve the old output
    (book / "utils" / "dependency.py").write_text("VALUE = 7\n", encoding="utf-8")
    page = build(book)
    assert "the helper says 49" in page, "the page kept the output of the old helper"
    assert "the helper says 42" not in page
