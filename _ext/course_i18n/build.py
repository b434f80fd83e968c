"""What each kind of build needs, set up at its start.

- every build: the language switch in the header; pybtex's plugin lookups kept;
- message extraction (``gettext``): image outputs kept (their alt texts are messages),
  nothing executed, MyST-NB's notebooks written to scratch space;
- a translation: its own title and search language; its outputs from the English build
  (nothing executes); the savings of ``messages``; and the pages that the English build
  reads on every build (``course_always_reread``, pages executed each time) read again
  only when the outputs they take from it changed.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

from . import concurrent, glue, messages, outputs, plugins, search
from .languages import add_switch_to_header, translation_of

logger = logging.getLogger(__name__)


def configure(app, config) -> None:
    """``config-inited``."""
    add_switch_to_header(config)
    # the gettext builder keeps image outputs, so their alt texts are extracted
    overrides = list(config.nb_mime_priority_overrides or [])
    if not any(builder == "gettext" for builder, *_ in overrides):
        overrides += [
            ("gettext", mime, 10 * rank)
            for rank, mime in enumerate(outputs.EXTRACTION_MIME_ORDER, 1)
        ]
        config.nb_mime_priority_overrides = overrides
    translation = translation_of(config)
    if translation is None:
        return
    settings = config.course_translations[translation]
    if settings.get("title"):
        config.html_title = settings["title"]
    if settings.get("search_language"):
        config.html_search_language = settings["search_language"]
    # A page the English build reads on every build (it executes each time) shows here
    # the outputs that build left; the translation reads it again when those changed
    # (outputs.update_output_stamps), not on every build. Beside the English build
    # (concurrent) those outputs are not made yet when this build starts: it reads such
    # a page on every build too, last, after the English build has read every page.
    if "course_always_reread" in config and not concurrent.waiting():
        config.course_always_reread = []


def prepare_build(app) -> None:
    """``builder-inited``, after MyST-NB set up its configuration."""
    outputs.set_notebook_hook(None)
    plugins.install_plugin_lookup_cache()  # every build cites: English and translations
    mystnb_config = getattr(app.env, "mystnb_config", None)
    if mystnb_config is None:
        return
    if app.builder.name == "gettext":
        # MyST-NB would write its notebooks (here with placeholder outputs) over the
        # English build's in _build/jupyter_execute; the doctree folder is scratch space
        app.env.mystnb_config = mystnb_config.copy(
            execution_mode="off", output_folder=str(Path(app.doctreedir) / "jupyter_execute")
        )
        outputs.set_notebook_hook(outputs.extraction_hook)
    elif translation_of(app.config) is not None:
        executed = outputs.executed_notebooks_of_source(Path(app.outdir))
        own_folder = executed.with_name(f"{executed.name}.{translation_of(app.config)}")
        app.env.mystnb_config = mystnb_config.copy(
            execution_mode="off", output_folder=str(own_folder)
        )
        if concurrent.waiting():
            stamps, news = None, "beside the English build"
        else:
            stamps = Path(app.doctreedir) / outputs.STAMPS
            key = mystnb_config.metadata_key
            changed = outputs.update_output_stamps(executed, stamps, key)
            news = f"{len(changed)} executed page(s) with new outputs"
        outputs.set_notebook_hook(outputs.outputs_from_source_build(app, executed, stamps))
        search.segment_while_waiting(app)
        glue.install_glue_fallback()
        messages.install_message_parsing()
        logger.info(
            f"[course_i18n] outputs are taken from the jupyter-cache and {executed}; "
            f"nothing executes ({news})"
        )
    else:
        return
    outputs.install_reader_hook()
