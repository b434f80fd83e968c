"""Small fixes to the HTML pages of the book (a local Sphinx extension).

1. Offer every executed notebook as a ``.ipynb`` download. The labs are jupytext
   ``.py`` files and some chapters are MyST Markdown notebooks, so the book theme's
   download menu would only offer the source text. MyST-NB writes the executed
   notebook of each page to ``_build/jupyter_execute/``; we copy it next to the page
   sources in the HTML output and tell sphinx-book-theme about it, which then adds an
   ".ipynb" entry (with outputs) to the download menu.
2. Re-read the pages listed in ``course_always_reread`` on every build.
3. Drop duplicated inline scripts. With jupyter-book 1.0.4, sphinx-thebe's inline
   configuration script (``const THEBE_JS_URL = ...``) is added to a page twice, and
   the second copy throws "Identifier 'THEBE_JS_URL' has already been declared" in the
   browser. Keeping the first copy of each identical script fixes it.
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


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        # the copies differ only in priority: compare what the browser sees
        attributes = getattr(script, "attributes", {})
        # (an inline script's filename is None for some extensions, "" for others)
        key = (getattr(script, "filename", None) or "", str(attributes.get("body", "")))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def _always_reread(app, env, added, changed, removed) -> list[str]:
    """Documents that read data produced elsewhere (``course_always_reread``).

    Sphinx re-reads only documents whose source changed, but a page that shows what
    the labs recorded must be re-read (and, with ``execution_mode: force``, executed)
    on every build, or it would show the previous build's figures.
    """
    return [doc for doc in app.config.course_always_reread if doc in env.found_docs]


def setup(app):
    app.add_config_value("course_always_reread", [], "env")
    app.connect("env-get-outdated", _always_reread)
    # run before sphinx-book-theme builds its header buttons (default priority 500)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    # run after every extension has added its scripts
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
