"""The translated messages of a page: how Sphinx parses them, and what they leave behind.

Sphinx's ``Locale`` transform parses each translated message (2,000 and more in this
book) as a MyST document of its own. Two repairs and four savings:

1. The part captions of ``_toc.yml`` (inserted by sphinx-external-toc after Sphinx
   translated the page) are translated too (``TranslateTocCaptions``).
2. The translated nodes stop dragging their throwaway documents into the pickled
   doctrees (``forget_message_documents``), which made them ten times larger and every
   build slower.
3. No throwaway settings per message: MyST's renderer builds a default document (the
   docutils settings of every component, 70 options parsed) each time it starts a
   render, even when it is given the document to render into, as it always is here; a
   third of the messages' cost.
4. One Markdown parser for all messages: MyST builds a new markdown-it parser (its
   rules, its plugins, a renderer that inspects its own methods) for each message, from
   the same configuration; a translated message here takes the one built for the
   previous message with that configuration, and the renderer starts each render afresh
   (``setup_render`` resets every attribute a render uses).

5. Each message parsed once, not twice: the transform parses every translated message
   in a first pass (to rename translated section titles and glossary terms) and again
   in a second (to translate it), and the first pass's result is thrown away for every
   other kind of node. Here the first parse keeps a pristine copy of its result, and the
   second asks for the same text at the same place and gets that copy (``ParsedOnce``).
6. No notebook reader per message: MyST-NB's parser sets up a reader for the *page's*
   notebook (a lab's jupytext format) before it notices that the text is a translated
   message, which it parses as plain Markdown; a message goes straight to that parse.

Items 3 to 6 act only on translated messages (documents whose source ends in
``<translated>``) in a translation build; a page's own parse is untouched.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

from .languages import translation_of

#: how Sphinx names the source of a translated message (``<path>:<line>:<translated>``)
TRANSLATED = "<translated>"


class TranslateTocCaptions(SphinxTransform):
    """Translate the captions of the toctrees that sphinx-external-toc inserts.

    ``_toc.yml``'s part captions ("The course", "Labs", "Reference") become toctree
    nodes of the root page in a transform of priority 100, after Sphinx translated the
    page (priority 20); the gettext builder still extracts them. This transform looks
    them up in the page's catalogue as Sphinx would have.
    """

    default_priority = 110

    def apply(self, **kwargs) -> None:
        if translation_of(self.config) is None:
            return
        if not getattr(self.app.builder, "use_message_catalog", False):
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        folders = [str(Path(self.env.srcdir) / folder) for folder in self.config.locale_dirs]
        catalogue, found = init_locale(folders, self.config.language, domain)
        if not found:
            return
        for node in self.document.findall(addnodes.toctree):
            if "rawcaption" not in node and "rawentries" not in node:
                node.preserve_original_messages()
            for original in node.extract_original_messages():
                translated = catalogue.gettext(original)
                if translated and translated != original:
                    node.apply_translated_message(original, translated)


def forget_message_documents(doctree) -> int:
    """Point every node of a translated page at the page's own document; return how many
    pointed elsewhere.

    Sphinx parses each translated message as a document of its own and moves the result
    into the page; the moved nodes keep a reference to that throwaway document (with its
    settings and reporter), and pickling the page then saves every one of them: this
    book's Chinese doctrees were ten times the English ones, and reading them back
    (Sphinx does, for every page, to number the figures) took most of an incremental
    build.
    """
    moved = 0
    for node in doctree.findall():
        own = node.__dict__.get("_document")
        if own is not None and own is not doctree:
            node._document = doctree
            moved += 1
    return moved


def on_doctree_read(app, doctree) -> None:
    if translation_of(app.config) is not None:
        forget_message_documents(doctree)


# --------------------------------------------------------------------------- parsing


class MessageParsing:
    """The state of the message parsing savings (items 3 and 4), once per process.

    ``offered``: the parse of a translated message has begun and has not yet asked for
    its Markdown parser; ``depth``: how many such parses are under way (one nested in
    another gets a new parser, as it would anyway);
    ``parsers``: the parser kept per (configuration, renderer class), with the
    configuration itself, so that a new configuration at a reused address is not taken
    for the old one.
    """

    def __init__(self) -> None:
        self.offered = False
        self.depth = 0
        self.parsers: dict[tuple[int, type], tuple[object, object]] = {}
        self.reused = 0
        self.created = 0
        self.once: ParsedOnce | None = None  # item 5, set by install_message_parsing

    def parser_for(self, create, config, renderer):
        """The Markdown parser of one translated message's parse."""
        if not self.offered:
            return create(config, renderer)
        self.offered = False
        key = (id(config), renderer)
        kept = self.parsers.get(key)
        if kept is not None and kept[0] is config:
            self.reused += 1
            return kept[1]
        parser = create(config, renderer)
        self.parsers[key] = (config, parser)
        self.created += 1
        return parser


#: installed once per process, by ``install_message_parsing``
PARSING: MessageParsing | None = None


def is_translated_message(document) -> bool:
    return str(getattr(document, "current_source", "") or "").endswith(TRANSLATED)


def _no_default_document(*args, **kwargs):
    """Stands in for MyST's ``make_document`` while a render that was given its document
    starts: its only use there is the unused default of ``options.get("document", ...)``."""
    return None


@contextlib.contextmanager
def _replaced(module, name: str, value):
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


class ParsedOnce:
    """Item 5: the second request for a message's parse is answered with a pristine copy
    of the first.

    Sphinx's ``Locale`` transform calls ``publish_msgstr(app, text, source, line, config,
    settings)`` for each translated message in its first pass and again, with the same
    arguments, in its second. The first call's result is returned as parsed and a deep
    copy of it is kept (the first pass may move its children into a section title); a
    later call with the same text, place and settings takes the copy, once. What is kept
    belongs to one page: a call for another source forgets it.
    """

    def __init__(self) -> None:
        self.kept: dict[tuple, tuple[object, object]] = {}
        self.source: str | None = None
        self.parsed = 0
        self.reused = 0

    def publish(self, original, app, source, source_path, source_line, config, settings):
        if source_path != self.source:
            self.kept.clear()
            self.source = source_path
        key = (source, source_line, id(app), id(config), id(settings))
        kept = self.kept.pop(key, None)
        if kept is not None and kept[0] is settings:
            self.reused += 1
            return kept[1]
        patch = original(app, source, source_path, source_line, config, settings)
        self.parsed += 1
        if not isinstance(patch, nodes.document):  # a message that parsed to nothing
            self.kept[key] = (settings, patch.deepcopy())
        return patch


def install_message_parsing() -> MessageParsing:
    """Install the four savings (idempotent); return their state."""
    global PARSING
    if PARSING is not None:
        return PARSING
    from myst_nb import sphinx_ as notebook_parser_module
    from myst_parser.mdit_to_docutils import base as renderer_module
    from myst_parser.parsers import sphinx_ as parser_module
    from sphinx.transforms import i18n as locale_module

    state = MessageParsing()
    original_parse = parser_module.MystParser.parse
    original_create = parser_module.create_md_parser
    original_setup = renderer_module.DocutilsRenderer.setup_render

    def parse(self, inputstring, document):
        if not is_translated_message(document):
            return original_parse(self, inputstring, document)
        state.depth += 1
        state.offered = state.depth == 1  # a parse nested in another gets its own parser
        try:
            return original_parse(self, inputstring, document)
        finally:
            state.depth -= 1
            state.offered = False

    def create_md_parser(config, renderer):
        return state.parser_for(original_create, config, renderer)

    def setup_render(self, options, env):
        document = options.get("document")
        if document is None or not is_translated_message(document):
            return original_setup(self, options, env)
        with _replaced(renderer_module, "make_document", _no_default_document):
            return original_setup(self, options, env)

    original_notebook_parse = notebook_parser_module.Parser.parse

    def notebook_parse(self, inputstring, document):
        # MyST-NB parses a translated message as Markdown (``MystParser.parse``) after
        # it has set up a reader for the page's notebook; the message goes there first
        if is_translated_message(document):
            return parser_module.MystParser.parse(self, inputstring, document)
        return original_notebook_parse(self, inputstring, document)

    original_publish = locale_module.publish_msgstr
    once = ParsedOnce()

    def publish_msgstr(app, source, source_path, source_line, config, settings):
        return once.publish(
            original_publish, app, source, source_path, source_line, config, settings
        )

    parser_module.MystParser.parse = parse
    parser_module.create_md_parser = create_md_parser
    renderer_module.DocutilsRenderer.setup_render = setup_render
    notebook_parser_module.Parser.parse = notebook_parse
    locale_module.publish_msgstr = publish_msgstr
    state.once = once
    PARSING = state
    return state
