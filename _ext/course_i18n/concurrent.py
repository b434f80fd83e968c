"""The English build and a translation at the same time (``scripts/book.py``).

A translation takes its notebooks' outputs from the English build (``outputs``): from
the jupyter-cache, and for the pages that execute on every build from the notebooks
that build executed. It can therefore run beside the English build, one build per core,
as long as it waits for the English build whenever it needs something that build has
not made yet. The English build says when it has read every page (so every notebook is
executed, cached and written, with its glue data) by creating a marker file; the
translation waits for that file, and only when it must:

- before it reads a page that executes on every build (these it reads last, and on
  every build, as the English build does);
- when a page's outputs are not in the jupyter-cache (the English build may be
  executing that notebook right now);
- when a glued number is in the English build's glue data only.

Two environment variables, set by ``scripts/book.py`` for the two builds, switch this
on; without them every build runs as on its own (a translation then needs the English
site built before it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sphinx.errors import SphinxError
from sphinx.util import logging

from .languages import translation_of

logger = logging.getLogger(__name__)

#: set for the English build: the file to create once every page has been read
READ_MARKER = "COURSE_BOOK_ENGLISH_READ_MARKER"
#: set for a translation: the file to wait for before taking what the English build makes
WAIT_FOR = "COURSE_BOOK_WAIT_FOR_ENGLISH"
#: how often the wait looks for the file, in seconds
POLL_SECONDS = 0.05


class EnglishBuildGone(SphinxError):
    category = "The English build stopped before it had read every page"


def waiting() -> bool:
    """Whether this build runs beside the English build (and may have to wait for it)."""
    return bool(os.environ.get(WAIT_FOR))


def signal_read_done(app, env) -> None:
    """``env-updated`` of the English build: every page is read; create the marker."""
    marker = os.environ.get(READ_MARKER)
    if not marker or translation_of(app.config) is not None:
        return
    path = Path(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")


class _Wait:
    done = False
    #: what to do while waiting: generators of work, each step short
    idle: list = []


def while_waiting(work) -> None:
    """Do ``work()`` (a generator function: one short step per item) while this build
    waits for the English build; the wait looks for the English build between steps.
    What is not done when the wait ends is left undone."""
    _Wait.idle.append(work)


def wait_for_english_read(reason: str, poll: float = POLL_SECONDS) -> float:
    """Block until the English build has read every page; return the seconds waited.

    Returns at once when this build does not run beside the English build, or when the
    English build already said so. Raises :class:`EnglishBuildGone` when the process
    that started this build (``scripts/book.py``, which stops it when the English build
    fails) is gone.
    """
    marker = os.environ.get(WAIT_FOR)
    if not marker or _Wait.done:
        return 0.0
    parent = os.getppid()
    start = time.perf_counter()
    logged = False
    steps = (True for work in _Wait.idle for _ in work())
    while not Path(marker).is_file():
        if os.getppid() != parent:
            raise EnglishBuildGone(f"no English build to wait for ({reason})")
        if not logged:
            logger.info(f"[course_i18n] waiting for the English build to read every page: {reason}")
            logged = True
        if not next(steps, False):  # nothing (more) to do meanwhile
            time.sleep(poll)
    _Wait.done = True
    waited = time.perf_counter() - start
    logger.info(f"[course_i18n] the English build has read every page (waited {waited:.1f} s)")
    return waited
