"""A translation never executes a notebook: its pages show the English build's outputs.

The pages take their outputs from where the English pages took theirs: the jupyter-cache
(read, never written), and for the pages that execute on every English build
(``execution_mode: force``, never cached) the notebooks that build executed
(``_build/jupyter_execute/``), matched cell by cell. A page with no outputs to take (its
code changed since the English build) is reported, a warning (an error under ``-W``),
rather than executed. So both languages show the same code and the same outputs, and
nothing is executed a second time.

Message extraction (the ``gettext`` builder) executes nothing either, and still sees the
figure captions and alt texts that code cells carry in their metadata (``mystnb: figure:
caption`` / ``image: alt``): such a cell gets a placeholder image output for the
extraction, so MyST-NB renders its figure and Sphinx extracts the caption and alt text,
which the translation build then looks up.

Both act on the notebook as MyST-NB reads it, through a wrapper around
``myst_nb.sphinx_.create_nb_reader`` (the one place where the read notebook can be
changed before MyST-NB executes or renders it); the wrapper does nothing in an English
HTML build.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

from .concurrent import wait_for_english_read, waiting

logger = logging.getLogger(__name__)

#: A 1x1 transparent PNG: the placeholder output of a captioned figure during extraction.
PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
#: MyST-NB's output priorities for HTML, given to the gettext builder too: without an
#: entry MyST-NB drops image outputs from the extraction, and their alt texts with them.
EXTRACTION_MIME_ORDER = (
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/gif",
    "image/jpeg",
    "text/markdown",
    "text/latex",
    "text/plain",
)
#: The notebook metadata a translation copies from the executed notebook.
COPIED_METADATA = ("language_info", "widgets")
#: Where a translation keeps, per forced page, the signature of the English outputs it
#: shows (under its doctree folder).
STAMPS = "course_i18n_outputs"

#: What to do with each notebook MyST-NB reads: (notebook, source path, nb_config) ->
#: notebook. Set at builder-inited; None in an English HTML build.
_notebook_hook: Callable | None = None


def set_notebook_hook(hook: Callable | None) -> None:
    global _notebook_hook
    _notebook_hook = hook


def executed_notebooks_of_source(outdir: Path) -> Path:
    """Where the English build's executed notebooks are, seen from a translation's outdir.

    A translation is built into a subfolder of the English site (``_build/html/zh_CN``);
    MyST-NB writes the English build's notebooks beside the site, to
    ``<outdir of the English site>/../jupyter_execute`` (``_build/jupyter_execute``).
    """
    return Path(outdir).resolve().parent.parent / "jupyter_execute"


def _docname(path: str, srcdir: Path) -> str:
    relative = Path(path).resolve().relative_to(srcdir.resolve())
    return relative.with_suffix("").as_posix()


def reuse_outputs(notebook, executed, docname: str) -> str | None:
    """Give ``notebook`` the outputs of ``executed``, the same notebook as executed.

    Code cells are matched in order and must have the same source; the notebook-level
    ``language_info`` and ``widgets`` metadata are copied as MyST-NB's cache would.

    Returns:
        None on success, else why the outputs could not be reused (``notebook`` is then
        unchanged).
    """
    fresh = [cell for cell in notebook.cells if cell.cell_type == "code"]
    done = [cell for cell in executed.cells if cell.cell_type == "code"]
    if [cell.source for cell in fresh] != [cell.source for cell in done]:
        changed = next(
            (i for i, (a, b) in enumerate(zip(fresh, done, strict=False)) if a.source != b.source),
            min(len(fresh), len(done)),
        )
        return (
            f"{docname}: its code differs from the notebook the English build executed "
            f"(code cell {changed + 1}); build the English book first"
        )
    for cell, result in zip(fresh, done, strict=True):
        cell.outputs = result.get("outputs", [])
        cell.execution_count = result.get("execution_count")
    for key in COPIED_METADATA:
        if key in executed.metadata:
            notebook.metadata[key] = executed.metadata[key]
    return None


def cached_outputs(notebook, cache_path: Path):
    """The notebook merged with its record in the jupyter-cache, or None if it has none.

    Only reads the cache: a missing cache is not created, a missing record not executed.
    """
    if not (cache_path / "global.db").is_file():
        return None
    from jupyter_cache import get_cache

    try:
        _, merged = get_cache(str(cache_path)).merge_match_into_notebook(notebook)
    except KeyError:
        return None
    return merged


# --------------------------------------------------------------------------- forced pages


def is_forced(notebook: dict, metadata_key: str = "mystnb") -> bool:
    """Whether a notebook (as JSON) executes on every English build."""
    options = notebook.get("metadata", {}).get(metadata_key) or {}
    return options.get("execution_mode") == "force"


def glue_file(folder: Path, docname: str) -> Path:
    """Where MyST-NB writes the glue data of ``docname`` (``<docname>.glue.json``)."""
    path = Path(folder).joinpath(*docname.split("/"))
    return path.with_name(f"{path.name}.glue.json")


def output_signature(notebook: dict, glue: bytes = b"") -> str:
    """A digest of what a translation takes from an executed notebook (as JSON).

    The code and outputs of its code cells, their execution counts, the copied notebook
    metadata, and the page's glue data; not the cell ids (new on every read of a
    Markdown page) nor the execution timings, which the translation does not show.
    """
    cells = [
        [cell.get("source"), cell.get("outputs", []), cell.get("execution_count")]
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
    ]
    metadata = {key: notebook.get("metadata", {}).get(key) for key in COPIED_METADATA}
    content = json.dumps([cells, metadata], sort_keys=True, ensure_ascii=True)
    digest = hashlib.sha256(content.encode("ascii"))
    digest.update(glue)
    return digest.hexdigest()


def stamp_path(stamps: Path, docname: str) -> Path:
    return Path(stamps).joinpath(*docname.split("/")).with_suffix(".sha256")


def update_output_stamps(executed_dir: Path, stamps: Path, metadata_key: str = "mystnb") -> list:
    """Write, for each forced page the English build executed, the signature of its
    outputs to ``<stamps>/<docname>.sha256``, only where it changed; return the docnames
    whose stamp was written.

    The English build executes a forced page on every build and rewrites its notebook;
    the translation depends on this stamp instead of that notebook, so it reads the page
    again only when its outputs changed (they are usually the same: the page shows
    what the labs recorded).
    """
    written = []
    executed_dir = Path(executed_dir)
    if not executed_dir.is_dir():
        return written
    for path in sorted(executed_dir.rglob("*.ipynb")):
        docname = path.relative_to(executed_dir).with_suffix("").as_posix()
        stamp = stamp_path(stamps, docname)
        if stamp.is_file() and stamp.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            glue = glue_file(executed_dir, docname)
            if not glue.is_file() or stamp.stat().st_mtime_ns >= glue.stat().st_mtime_ns:
                continue  # neither changed since the stamp was checked
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not is_forced(notebook, metadata_key):
            continue
        glue = glue_file(executed_dir, docname)
        signature = output_signature(notebook, glue.read_bytes() if glue.is_file() else b"")
        if stamp.is_file() and stamp.read_text(encoding="ascii") == signature:
            continue  # the same outputs: the stamp keeps its time, the page is not re-read
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(signature, encoding="ascii")
        written.append(docname)
    return written


# --------------------------------------------------------------------------- the hooks


def outputs_from_source_build(app, executed_dir: Path, stamps: Path | None = None) -> Callable:
    """The notebook hook of a translation: outputs as the English build showed them.

    MyST-NB gives the English pages their outputs from two places, and so does this:
    the jupyter-cache (every notebook executed in ``cache`` mode, by the book build or
    by nbval), read-only here; and, for the pages that execute on every build
    (``execution_mode: force``, never cached), the executed notebook the English build
    wrote to ``_build/jupyter_execute/`` (MyST-NB writes a cached page's notebook there
    without its outputs, so that folder alone is not enough).

    A page is read again whenever the English build has read it again (its executed
    notebook is a dependency); a forced page, which the English build reads every time,
    only when its outputs changed (its stamp, see ``update_output_stamps``, is).
    """
    import nbformat

    srcdir = Path(app.srcdir)

    def hook(notebook, path: str, nb_config):
        forced = notebook.metadata.get(nb_config.metadata_key, {}).pop("execution_mode", None)
        docname = _docname(path, srcdir)
        executed_path = executed_dir / f"{docname}.ipynb"
        stamp = stamp_path(stamps, docname) if stamps is not None else None
        if forced == "force" and stamp is not None and stamp.is_file() and executed_path.is_file():
            app.env.note_dependency(str(stamp))
        elif executed_path.is_file() or forced == "force":
            # a forced page whose notebook is missing is read again on every build (a
            # missing dependency counts as changed) until the English build has written it
            app.env.note_dependency(str(executed_path))
        cache = srcdir / nb_config.execution_cache_path
        if forced != "force":
            try:
                merged = cached_outputs(notebook, cache)
            except Exception:  # beside the English build, which may be creating the cache
                if not waiting():
                    raise
                merged = None
            if merged is None and waiting():  # the English build may be running it
                wait_for_english_read(f"{docname} is not in the cache yet")
                merged = cached_outputs(notebook, cache)
            if merged is not None:
                return merged
        else:
            wait_for_english_read(f"{docname} executes in the English build")
        if not executed_path.is_file():
            logger.warning(
                f"[course_i18n] neither the jupyter-cache nor {executed_path} has this "
                "page's outputs: build the English book first (jupyter-book build .); the "
                "page shows no outputs",
                location=docname,
            )
            return notebook
        problem = reuse_outputs(notebook, nbformat.read(executed_path, as_version=4), docname)
        if problem:
            logger.warning(f"[course_i18n] {problem}; the page shows no outputs", location=docname)
        return notebook

    return hook


def placeholder_outputs(notebook, nb_config) -> None:
    """Prepare a notebook for message extraction, in place: nothing executes, and every
    code cell whose metadata gives a figure caption or an image's alt text gets one
    placeholder image output, so that MyST-NB renders that caption and alt text."""
    import nbformat

    notebook.metadata.get(nb_config.metadata_key, {}).pop("execution_mode", None)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        options = cell.metadata.get(nb_config.cell_metadata_key, {}) or {}
        if "figure" in options or "image" in options:
            cell.outputs = [
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "image/png": base64.b64encode(PLACEHOLDER_PNG).decode("ascii"),
                        "text/plain": "<placeholder for message extraction>",
                    },
                )
            ]


def extraction_hook(notebook, path, nb_config):
    placeholder_outputs(notebook, nb_config)
    return notebook


def install_reader_hook() -> None:
    try:
        from myst_nb import sphinx_ as mystnb_sphinx
    except ImportError as error:  # pragma: no cover - MyST-NB is pinned with jupyter-book
        raise ExtensionError("course_i18n needs MyST-NB") from error
    original = mystnb_sphinx.create_nb_reader
    if getattr(original, "course_i18n_hook", False):
        return

    def create_nb_reader(path, md_config, nb_config, content):
        reader = original(path, md_config, nb_config, content)
        hook = _notebook_hook
        if reader is None or hook is None:
            return reader
        read = reader.read
        return dataclasses.replace(reader, read=lambda text: hook(read(text), path, nb_config))

    create_nb_reader.course_i18n_hook = True
    mystnb_sphinx.create_nb_reader = create_nb_reader
