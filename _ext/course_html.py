"""Small fixes to the HTML pages of the book (a local Sphinx extension).

1. Offer every executed notebook as a ``.ipynb`` download. The labs are jupytext
   ``.py`` files and some chapters are MyST Markdown notebooks, so the book theme's
   download menu would only offer the source text. MyST-NB writes the executed
   notebook of each page to ``_build/jupyter_execute/``; we copy it next to the page
   sources in the HTML output and tell sphinx-book-theme about it, which then adds an
   ".ipynb" entry (with outputs) to the download menu.
2. Re-read the pages listed in ``course_always_reread`` (pages that show what the labs
   recorded) on every build, after all other pages, and every page after the
   dependency fingerprint changed (see 5).
3. Serve MathJax from the book itself, so mathematics renders offline. MathJax 3's
   browser build ships in the PyPI package ``django-static-mathjax``; we copy the
   few files a page needs (the TeX-to-HTML component, its fonts and TeX extensions,
   about 2 MB) into ``_static/mathjax/``. Without the package the theme's default
   (a CDN) stays in place.
4. Show only buttons that work. The launch buttons (Binder, Colab) and the repository
   and issues buttons are rendered only when ``repository.url`` in ``_config.yml`` names
   a real repository; with none configured (the default, an empty string) the page
   carries no such links. A placeholder address (``example.org``, the made-up
   ``github.com/ailm-course/...``) counts as none, with a warning (an error under ``-W``).
5. Keep the execution cache honest: before anything executes, drop the cached outputs
   if ``utils/``, the pins or the data changed since they were made
   (``_ext/cache_freshness.py``).
6. Drop duplicated inline scripts. With jupyter-book 1.0.4, sphinx-thebe's inline
   configuration script (``const THEBE_JS_URL = ...``) is added to a page twice, and
   the second copy throws "Identifier 'THEBE_JS_URL' has already been declared" in the
   browser. Keeping the first copy of each identical script fixes it.
"""

from __future__ import annotations

import os
import shutil
from importlib import metadata
from pathlib import Path

from sphinx.util import logging

try:
    import cache_freshness  # _ext/ is on sys.path while Sphinx loads its local extensions
except ModuleNotFoundError:  # imported as _ext.course_html, as the tests do
    from _ext import cache_freshness

logger = logging.getLogger(__name__)

#: Addresses that only stand in for a real one; a link to them is a dead link.
PLACEHOLDER_MARKERS = ("example.org", "example.com", "example.net", "github.com/ailm-course/")
#: The header buttons that need a repository.
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button")

MATHJAX_DISTRIBUTION = "django-static-mathjax"
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


def _executed_notebooks(app) -> Path:
    """The folder MyST-NB writes the executed notebooks to (a translation has its own)."""
    folder = getattr(getattr(app.env, "mystnb_config", None), "output_folder", "")
    return Path(folder) if folder else Path(app.outdir).parent / "jupyter_execute"


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    executed = _executed_notebooks(app) / f"{pagename}.ipynb"
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
    """Documents to read again although their source did not change.

    Sphinx re-reads only documents whose source changed. Two kinds must be re-read anyway:

    - pages that show what the labs recorded (``course_always_reread``): with
      ``execution_mode: force`` they execute on every build, or they would show the
      previous build's figures;
    - every page, once, after the dependency fingerprint (``_ext/cache_freshness.py``)
      changed: the outputs of the old pages came from the old ``utils/``, pins or data.
      Their stale cache records are gone, so the notebooks among them execute again;
      the others are re-read in a moment.
    """
    outdated = [doc for doc in app.config.course_always_reread if doc in env.found_docs]
    current = cache_freshness.dependency_fingerprint(Path(app.srcdir))
    if getattr(env, "course_dependency_fingerprint", None) != current:
        outdated = sorted(env.found_docs)
        env.course_dependency_fingerprint = current  # pickled with the environment
    return outdated


def _read_recorded_pages_last(app, env, docnames: list[str]) -> None:
    """Read the ``course_always_reread`` pages after every other page, in their given order.

    Sphinx reads (and MyST-NB executes) documents in sorted order, so a chapter would
    run before the labs whose recorded results it shows. Moving those pages to the end
    of the list, in place, lets them read what the labs recorded in this same build.
    """
    late = [doc for doc in app.config.course_always_reread if doc in docnames]
    for doc in late:
        docnames.remove(doc)
    docnames.extend(late)


def is_placeholder(url: str) -> bool:
    """Whether ``url`` is a stand-in address rather than a real one."""
    return any(marker in url.lower() for marker in PLACEHOLDER_MARKERS)


def configure_repository_buttons(theme_options: dict) -> str | None:
    """Switch the repository-dependent buttons on or off, in place; return the repository.

    Args:
        theme_options: ``html_theme_options`` as Jupyter Book derives them from
            ``_config.yml`` (``repository_url`` from ``repository.url``, ``launch_buttons``).

    Returns:
        The configured repository URL, or None when there is none (empty, missing or a
        placeholder): then the launch buttons and the repository and issues buttons are
        removed, so no page links to an address that does not exist.
    """
    url = str(theme_options.get("repository_url") or "").strip()
    if not url or is_placeholder(url):
        theme_options.pop("launch_buttons", None)
        theme_options.pop("repository_url", None)
        for button in (*REPOSITORY_BUTTONS, "use_edit_page_button"):
            theme_options[button] = False
        return None
    launch_buttons = theme_options.get("launch_buttons") or {}
    placeholders = {k: v for k, v in launch_buttons.items() if is_placeholder(str(v))}
    if placeholders:
        raise ValueError(
            f"launch_buttons in _config.yml name placeholder addresses {placeholders}: "
            "remove them or give real ones"
        )
    for button in REPOSITORY_BUTTONS:
        theme_options.setdefault(button, True)
    return url


def _repository_buttons(app, config) -> None:
    theme_options = config.html_theme_options
    configured = str(theme_options.get("repository_url") or "")
    if configured and is_placeholder(configured):
        logger.warning(
            f"[course_html] repository.url in _config.yml is a placeholder ({configured}): "
            "no launch or repository buttons are rendered; give the real address or leave "
            'it empty ("")'
        )
    if configure_repository_buttons(theme_options) is None:
        logger.info("[course_html] no repository configured: no launch or repository buttons")


def _drop_stale_executions(app) -> None:
    # a translation never changes the cache: the English build, before it or beside it,
    # drops what is stale (and executes those notebooks again)
    if (app.config.language or "en") != "en":
        return
    # MyST-NB resolves the cache folder in its own builder-inited handler (run before this)
    mystnb_config = getattr(app.env, "mystnb_config", None)
    configured = getattr(mystnb_config, "execution_cache_path", "") or "_build/.jupyter_cache"
    cache_path = Path(app.srcdir) / configured  # an absolute path stays as it is
    removed = cache_freshness.drop_stale_records(cache_path, Path(app.srcdir))
    if removed:
        logger.info(
            f"[course_html] utils/, the pins or the data changed: {len(removed)} cached "
            "notebook(s) will execute again"
        )


def _mathjax_source() -> Path | None:
    try:
        distribution = metadata.distribution(MATHJAX_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    source = Path(str(distribution.locate_file("mathjax/static/mathjax/es5")))
    return source if (source / "tex-chtml.js").is_file() else None


def stage(origin: Path, destination: Path) -> None:
    """Copy a file or folder to ``destination`` unless it is there, atomically: it is
    copied beside it under a name of this process and then renamed, so that two builds
    staging at once (the English site and a translation, ``scripts/book.py``) never see
    each other's half-copied files, and the first rename wins."""
    if destination.exists():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    if origin.is_dir():
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(origin, partial)
    else:
        shutil.copyfile(origin, partial)
    try:
        os.rename(partial, destination)  # a folder is not renamed over one that exists
    except OSError:
        if not destination.exists():
            raise
    if partial.is_dir():  # another build staged it first
        shutil.rmtree(partial, ignore_errors=True)
    elif partial.exists():
        partial.unlink()


def _serve_mathjax_locally(app) -> None:
    source = _mathjax_source()
    if source is None:
        logger.info(
            f"[course_html] {MATHJAX_DISTRIBUTION} is not installed: MathJax loads from a CDN "
            f"(pip install --no-deps -r requirements-nodeps.txt serves it locally)"
        )
        return
    # beside the doctrees (_build/), not beside the pages: a translation's pages are
    # inside the English site (_build/html/zh_CN), and the staging folder must not be
    staging = Path(app.doctreedir).parent / "mathjax_static"
    target = staging / "mathjax"
    for relative in MATHJAX_FILES:
        stage(source / relative, target / relative)
    app.config.html_static_path.append(str(staging))
    app.config.mathjax_path = "mathjax/tex-chtml.js"


def setup(app):
    app.connect("config-inited", _repository_buttons)
    app.connect("builder-inited", _serve_mathjax_locally)
    app.connect("builder-inited", _drop_stale_executions, priority=600)
    app.add_config_value("course_always_reread", [], "env")
    app.connect("env-get-outdated", _always_reread)
    app.connect("env-before-read-docs", _read_recorded_pages_last)
    # run before sphinx-book-theme builds its header buttons (default priority 500)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    # run after every extension has added its scripts
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
