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

from tests.booktools import (
    JUPYTER_CACHE,
    executable_sources,
    execution_order,
    pages_reading_results,
    read_source,
    resolve_source,
)

# TensorFlow's info lines would otherwise fill the test log (the labs' own
# config.quiet_tensorflow() also turns on oneDNN's fast CPU kernels and drops its notices).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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


# Pages that show what the labs recorded (``course_always_reread``) execute on every book
# build by design (``execution_mode: force``), and the build runs with -W, so a failing
# cell fails the book test; executing them here as well would run them twice.
NOTEBOOKS = {path.resolve() for path in executable_sources()} - {
    resolve_source(docname).resolve() for docname in pages_reading_results()
}


def _in_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    """Several notebooks at once (``pytest -n N``): share the cores out between them.

    Each kernel inherits ``AILM_NUM_THREADS`` (read by ``utils.tf_helpers`` and
    ``utils.torch_helpers``) and the OpenMP/BLAS thread counts: two kernels that each
    start one thread per core on a 2-core machine make their threads wait for one another.
    """
    if not _in_xdist_worker(config):
        return
    workers = int(config.workerinput.get("workercount", 1))
    if workers > 1:
        per_worker = str(max(1, (os.cpu_count() or 1) // workers))
        for variable in ("AILM_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(variable, per_worker)


def pytest_sessionstart(session):
    """Drop cached outputs made before ``utils/``, the pins or the data last changed.

    The book build does the same at its start (``_ext/course_html.py``); doing it here
    too means nbval's fresh outputs are never mixed with stale ones in the cache.
    """
    if _in_xdist_worker(session.config):
        return  # the controller has done it before any worker started
    from _ext import cache_freshness

    cache_freshness.drop_stale_records(JUPYTER_CACHE)


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
    """Order the run: unit tests, notebooks, then the book and the site.

    In one process the fast unit tests come first, then the notebooks in reading order.
    Under ``pytest -n N --dist loadfile`` (``make test``) the notebooks come first, the
    longest (largest source) first, so that the workers finish at about the same time;
    no notebook reads what another recorded (the pages that do are left to the book build).
    The book and site tests always come last: they use what the notebooks cached.
    """
    reading_order = {path: index for index, path in enumerate(execution_order())}
    parallel = _in_xdist_worker(config)

    def rank(item) -> tuple[int, int]:
        if isinstance(item, IPyNbCell):
            path = Path(str(item.parent.fspath)).resolve()
            if parallel:
                return 0, -path.stat().st_size
            return 1, reading_order.get(path, 0)
        if item.get_closest_marker("book") or item.get_closest_marker("browser"):
            return 2, 0
        return 1 if parallel else 0, 0

    items.sort(key=rank)  # stable: cells keep their order within a notebook
