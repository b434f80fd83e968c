"""Collect every notebook of the book for nbval, straight from its jupytext source.

The notebooks to test are the ones the book executes: every entry of ``_toc.yml``
that is a ``py:percent`` lab or a MyST Markdown notebook (front matter with a
``kernelspec``). ``tests/test_structure.py`` checks that every file in ``labs/`` and
``chapters/`` is in the table of contents, so a new lab cannot be forgotten here.

nbval reads ``.ipynb`` files; :class:`SourceNotebook` teaches it to read the sources
the same way the book does (jupytext for ``.py``, MyST-NB's reader for ``.md``), so
no ``.ipynb`` is ever written next to a source. The kernel runs in the source's folder,
as during the book build. Results are asserted inside the notebooks, so the run is
``--nbval-lax``-like: outputs are not compared, errors fail the cell.

When every cell of a notebook passes, its outputs are stored in the book's
jupyter-cache (``_build/.jupyter_cache``): the book build that follows finds the
notebook there and does not execute it a second time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from nbval.plugin import IPyNbCell, IPyNbFile

REPO_ROOT = Path(__file__).resolve().parent
JUPYTER_CACHE = REPO_ROOT / "_build" / ".jupyter_cache"

# TensorFlow's start-up notices would otherwise fill the test log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def toc_files(toc_path: Path = REPO_ROOT / "_toc.yml") -> list[str]:
    """Every document named in the table of contents, in reading order (no suffix)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    found: list[str] = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return found


def resolve_source(docname: str) -> Path:
    """The source file of a TOC entry (``.md`` or ``.py``)."""
    for suffix in (".md", ".py", ".ipynb"):
        candidate = REPO_ROOT / f"{docname}{suffix}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"_toc.yml names {docname!r} but no .md or .py file exists for it")


def is_executable(path: Path) -> bool:
    """Whether the book executes this source (a py:percent lab or a MyST notebook)."""
    if path.suffix == ".py":
        return True
    if path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            return False
        front_matter = text.split("---", 2)[1]
        return "kernelspec" in front_matter
    return False


def executable_sources() -> list[Path]:
    return [path for path in map(resolve_source, toc_files()) if is_executable(path)]


def read_source(path: Path):
    """Read a notebook source exactly as the book build reads it."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        import jupytext

        return jupytext.reads(text, fmt="py:percent")
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    book_config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    extensions = book_config.get("parse", {}).get("myst_enable_extensions", [])
    return read_myst_markdown_notebook(
        text, config=MdParserConfig(enable_extensions=set(extensions)), add_source_map=True,
        path=str(path),
    )


class SourceNotebook(IPyNbFile):
    """An nbval notebook read from its jupytext / MyST source."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = False  # results are asserted inside the notebooks
        self.failed_cells = 0

    def collect(self):
        import nbformat

        source_nb = read_source(Path(self.fspath))
        # nbval reads the notebook from disk; hand it the one we read instead.
        original_read = nbformat.read
        nbformat.read = lambda *args, **kwargs: source_nb
        try:
            yield from super().collect()
        finally:
            nbformat.read = original_read

    def teardown(self):
        super().teardown()
        if self.failed_cells == 0 and not self.timed_out:
            cache_executed_notebook(self)


def cache_executed_notebook(notebook: SourceNotebook) -> None:
    """Store nbval's outputs in the book's jupyter-cache so the build need not re-execute."""
    import copy

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cells = [item for item in notebook.session.items if isinstance(item, IPyNbCell)]
    cells = [item for item in cells if item.parent is notebook]
    executed = copy.deepcopy(notebook.nb)
    code_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    if len(cells) != len(code_cells) or any(item.test_outputs is None for item in cells):
        return  # not every cell ran (a -k selection, a skip): cache nothing
    for count, (cell, item) in enumerate(zip(code_cells, cells, strict=True), start=1):
        cell.outputs = item.test_outputs
        cell.execution_count = count
    JUPYTER_CACHE.parent.mkdir(parents=True, exist_ok=True)
    cache = get_cache(str(JUPYTER_CACHE))
    cache.cache_notebook_bundle(
        CacheBundleIn(executed, str(notebook.fspath), data={"source": "nbval"}),
        check_validity=False,
        overwrite=True,
    )


NOTEBOOKS = {path.resolve() for path in executable_sources()}


def pytest_collect_file(file_path: Path, parent):
    if file_path.resolve() in NOTEBOOKS:
        return SourceNotebook.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if isinstance(item, IPyNbCell) and report.failed:
        item.parent.failed_cells += 1


def pytest_collection_modifyitems(session, config, items):
    """Run fast unit tests first, then the notebooks, then the book build and browser."""

    def rank(item) -> int:
        if isinstance(item, IPyNbCell):
            return 1
        if item.get_closest_marker("book") or item.get_closest_marker("browser"):
            return 2
        return 0

    items.sort(key=rank)  # stable: each group keeps its own order
