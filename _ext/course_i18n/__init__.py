"""The course in more than one language: the English site and its translations.

A local Sphinx extension. The English book is the source; each translation listed in
``course_translations`` (``_config.yml``) is built from the same sources with
``language`` set, its text taken from gettext catalogues (``locales/``, compiled by
``scripts/i18n.py compile``), into a subfolder of the English site
(``_build/html/zh_CN/``). ``scripts/i18n.py`` drives the builds; this package does what
must happen inside them, one job per module:

- ``languages``: which language a build makes; the language switch on every page;
- ``outputs``: a translation (and message extraction) never executes a notebook; its
  pages show the outputs the English build showed;
- ``glue``: ``{glue:text}`` in translated paragraphs finds the page's glue data;
- ``messages``: the translated messages: the toc's part captions translated, throwaway
  message documents kept out of the doctrees, and the cost of parsing each message cut;
- ``search``: the Chinese search index, built without Sphinx's repeated work (and,
  beside the English build, its words segmented while the translation waits);
- ``plugins``: pybtex's plugin lookups done once per plugin, not once per citation;
- ``build``: what each kind of build (English, extraction, translation) sets up;
- ``concurrent``: the English build and a translation at the same time: the English
  build's signal that it has read every page, and the translation's wait for it.
"""

from __future__ import annotations

from .build import configure, prepare_build
from .concurrent import signal_read_done, wait_for_english_read, waiting
from .glue import glue_of_page, install_glue_fallback
from .languages import (
    SOURCE_LANGUAGE,
    html_lang,
    language_links,
    site_root,
    translation_of,
)
from .messages import (
    TranslateTocCaptions,
    forget_message_documents,
    install_message_parsing,
    on_doctree_read,
)
from .outputs import (
    cached_outputs,
    executed_notebooks_of_source,
    output_signature,
    placeholder_outputs,
    reuse_outputs,
    update_output_stamps,
)
from .plugins import install_plugin_lookup_cache
from .search import ChineseSearch

__all__ = [
    "SOURCE_LANGUAGE",
    "ChineseSearch",
    "TranslateTocCaptions",
    "cached_outputs",
    "executed_notebooks_of_source",
    "forget_message_documents",
    "glue_of_page",
    "html_lang",
    "install_glue_fallback",
    "install_message_parsing",
    "install_plugin_lookup_cache",
    "language_links",
    "output_signature",
    "placeholder_outputs",
    "reuse_outputs",
    "site_root",
    "translation_of",
    "update_output_stamps",
    "signal_read_done",
    "wait_for_english_read",
    "waiting",
]


def setup(app):
    from .languages import add_language_switch

    # {"zh_CN": {"title": ..., "label": ..., "switch_title": ..., "search_language": ...}}
    app.add_config_value("course_translations", {}, "html")
    app.connect("config-inited", configure, priority=800)
    # after MyST-NB set up its configuration (priority 500) and course_html checked the
    # cache (600)
    app.connect("builder-inited", prepare_build, priority=700)
    app.connect("html-page-context", add_language_switch)
    app.add_transform(TranslateTocCaptions)
    app.connect("doctree-read", on_doctree_read)
    app.connect("env-updated", signal_read_done)
    app.add_search_language(ChineseSearch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
