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
from nbval.plugin import IPyNbCell, IPyNbFile

from tests.booktools import JUPYTER_CACHE, executable_sources, read_source

# TensorFlow's start-up notices would otherwise fill the test log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


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
    """Run fast unit tests first, then the notebooks in reading order, then the site.

    Reading order (the order of ``_toc.yml``) matters: a page may read what an earlier
    lab recorded (the framework comparison reads the labs' results).
    """
    reading_order = {path: index for index, path in enumerate(executable_sources())}

    def rank(item) -> tuple[int, int]:
        if isinstance(item, IPyNbCell):
            return 1, reading_order.get(Path(str(item.parent.fspath)).resolve(), 0)
        if item.get_closest_marker("book") or item.get_closest_marker("browser"):
            return 2, 0
        return 0, 0

    items.sort(key=rank)  # stable: cells keep their order within a notebook
