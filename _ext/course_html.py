"""Small fixes to the HTML pages of the book (a local Sphinx extension).

1. Offer every executed notebook as a ``.ipynb`` download. The labs are jupytext
   ``.py`` files and some chapters are MyST Markdown notebooks, so the book theme's
   download menu would only offer the source text. MyST-NB writes the executed
   notebook of each page to ``_build/jupyter_execute/``; we copy it next to the page
   sources in the HTML output and tell sphinx-book-theme about it, which then adds an
   ".ipynb" entry (with outputs) to the download menu.
2. Re-read the pages listed in ``course_always_reread`` on every build.
3. Serve MathJax from the book itself, so mathematics renders offline. MathJax 3's
   browser build ships in the PyPI package ``django-static-mathjax``; we copy the
   few files a page needs (the TeX-to-HTML component, its fonts and TeX extensions,
   about 2 MB) into ``_static/mathjax/``. Without the package the theme's default
   (a CDN) stays in place.
4. Drop duplicated inline scripts. With jupyter-book 1.0.4, sphinx-thebe's inline
   configuration script (``const THEBE_JS_URL = ...``) is added to a page twice, and
   the second copy throws "Identifier 'THEBE_JS_URL' has already been declared" in the
   browser. Keeping the first copy of each identical script fixes it.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_DISTRIBUTION = "django-static-mathjax"
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


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


def _mathjax_source() -> Path | None:
    try:
        distribution = metadata.distribution(MATHJAX_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    source = Path(str(distribution.locate_file("mathjax/static/mathjax/es5")))
    return source if (source / "tex-chtml.js").is_file() else None


def _serve_mathjax_locally(app) -> None:
    source = _mathjax_source()
    if source is None:
        logger.info(
            f"[course_html] {MATHJAX_DISTRIBUTION} is not installed: MathJax loads from a CDN "
            f"(pip install --no-deps -r requirements-nodeps.txt serves it locally)"
        )
        return
    staging = Path(app.outdir).parent / "mathjax_static"
    target = staging / "mathjax"
    for relative in MATHJAX_FILES:
        origin, destination = source / relative, target / relative
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, destination)
        else:
            shutil.copyfile(origin, destination)
    app.config.html_static_path.append(str(staging))
    app.config.mathjax_path = "mathjax/tex-chtml.js"


def setup(app):
    app.connect("builder-inited", _serve_mathjax_locally)
    app.add_config_value("course_always_reread", [], "env")
    app.connect("env-get-outdated", _always_reread)
    # run before sphinx-book-theme builds its header buttons (default priority 500)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    # run after every extension has added its scripts
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
