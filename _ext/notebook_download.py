"""Offer every executed notebook as a ``.ipynb`` download.

The labs are jupytext ``.py`` files and some chapters are MyST Markdown notebooks, so
the book theme's download menu would only offer the source text. MyST-NB writes the
executed notebook of each page to ``_build/jupyter_execute/``; this extension copies
it next to the page sources in the HTML output and tells sphinx-book-theme about it,
which then adds an ".ipynb" entry (with outputs) to the download menu.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # run before sphinx-book-theme builds its header buttons (default priority 500)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
