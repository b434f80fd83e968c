"""``{glue:text}`` roles inside translated paragraphs find the page's glue data.

Sphinx parses each translated message as a small document of its own, after MyST-NB has
finished the page and dropped its renderer; MyST-NB's lookup then finds no glue data
("No key ... found in glue data"). The page's glue data is on disk by then (MyST-NB
writes ``<output folder>/<docname>.glue.json`` at the end of the page's parse, before the
translation transform runs), so the lookup falls back to it. A page that executes on
every build reaches a translation without its glue outputs (MyST-NB removes them from the
notebook it writes), so its own parse falls back too, to the English build's file (beside
the English build, once that build has read every page).
"""

from __future__ import annotations

import json
from pathlib import Path

from .concurrent import wait_for_english_read
from .outputs import executed_notebooks_of_source, glue_file


def glue_of_page(output_folder: Path, docname: str) -> dict:
    """The glue data MyST-NB wrote for ``docname`` (``<docname>.glue.json``), or ``{}``."""
    path = glue_file(output_folder, docname)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def install_glue_fallback() -> None:
    from myst_nb.core.variables import RetrievalError, VariableOutput
    from myst_nb.ext.glue import roles as glue_roles

    original = glue_roles.retrieve_glue_data
    if getattr(original, "course_i18n_fallback", False):
        return

    def retrieve_glue_data(document, key: str):
        try:
            return original(document, key)
        except RetrievalError:
            pass
        env = document.settings.env
        # this build's own data; else the English build's: a page executed on every build
        # (execution_mode: force) reaches this build without its glue outputs, which
        # MyST-NB removes from the notebook it writes
        data = glue_of_page(Path(env.mystnb_config.output_folder), env.docname)
        if key not in data:
            wait_for_english_read(f"{env.docname} shows a number the English build glues")
            english = executed_notebooks_of_source(Path(env.app.outdir))
            data = glue_of_page(english, env.docname)
        if key not in data:
            raise RetrievalError(f"No key {key!r} found in glue data for this document.")
        return VariableOutput(
            data=data[key]["data"],
            metadata=data[key].get("metadata", {}),
            nb_renderer=None,
            vtype="glue",
        )

    retrieve_glue_data.course_i18n_fallback = True
    glue_roles.retrieve_glue_data = retrieve_glue_data
