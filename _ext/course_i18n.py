"""The course in more than one language: the English site and its translations.

A local Sphinx extension. The English book is the source; each translation listed in
``course_translations`` (``_config.yml``) is built from the same sources with
``language`` set, its text taken from gettext catalogues (``locales/``, compiled by
``scripts/i18n.py compile``), into a subfolder of the English site
(``_build/html/zh_CN/``). ``scripts/i18n.py`` drives the builds; this module does what
must happen inside them.

1. A language switch on every page, in the article header, that leads to the same page
   in each other language. The links are relative, so the site works from ``file://``
   and from any server path; each page also names its other versions in
   ``<link rel="alternate" hreflang=...>``.
2. A translation never executes a notebook. Its pages take their outputs from where the
   English pages took theirs: the jupyter-cache (read, never written), and for the pages
   that execute on every English build (``execution_mode: force``, never cached) the
   notebooks that build executed (``_build/jupyter_execute/``), matched cell by cell.
   A page with no outputs to take (its code changed since the English build) is
   reported, a warning (an error under ``-W``), rather than executed. So both languages
   show the same code and the same outputs, and nothing is executed a second time.
3. The translation's own settings: title (``html_title``), search language (Chinese
   search segments words with ``jieba``).
4. Message extraction (the ``gettext`` builder) executes nothing either, and still sees
   the figure captions and alt texts that code cells carry in their metadata
   (``mystnb: figure: caption`` / ``image: alt``): such a cell gets a placeholder image
   output for the extraction, so MyST-NB renders its figure and Sphinx extracts the
   caption and alt text, which the translation build then looks up.

5. Three repairs the translation build needs: the part captions of ``_toc.yml`` (inserted
   by sphinx-external-toc after Sphinx translated the page) are translated too; the
   translated nodes stop dragging their throwaway documents into the pickled doctrees
   (which made them ten times larger and every build slower); and the Chinese search
   index is built with a set where Sphinx 7.4 searches a list (20 s saved).

Items 2 and 4 act on the notebook as MyST-NB reads it, through a wrapper around
``myst_nb.sphinx_.create_nb_reader`` (the one place where the read notebook can be
changed before MyST-NB executes or renders it); the wrapper does nothing in an English
HTML build.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from pathlib import Path

from sphinx import addnodes
from sphinx.errors import ExtensionError
from sphinx.locale import init as init_locale
from sphinx.search import zh as chinese_search
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
SWITCH_TEMPLATE = "course-language-switch.html"
#: The source language: the English site at the root of the output.
SOURCE_LANGUAGE = "en"
SOURCE_LABEL = {"label": "English", "title": "Read this page in English"}

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

#: What to do with each notebook MyST-NB reads: (notebook, source path, nb_config) ->
#: notebook. Set at builder-inited; None in an English HTML build.
_notebook_hook: Callable | None = None


def html_lang(code: str) -> str:
    """The BCP 47 tag of a Sphinx language code: ``zh_CN`` -> ``zh-CN``."""
    return code.replace("_", "-")


def translation_of(config) -> str | None:
    """The translation this build makes (``zh_CN``), or None for the English source."""
    language = getattr(config, "language", None) or SOURCE_LANGUAGE
    return language if language in (config.course_translations or {}) else None


def site_root(pagename: str, translation: str | None) -> str:
    """The relative path from a page to the root of the English site ("" or "../..")."""
    depth = pagename.count("/") + (1 if translation else 0)
    return "../" * depth


def language_links(
    pagename: str, target_uri: str, translation: str | None, translations: dict
) -> list[dict[str, str]]:
    """The links of one page's language switch: one per *other* language.

    Args:
        pagename: the Sphinx page name (``chapters/01_background``).
        target_uri: the page's file relative to the root of its own build
            (``chapters/01_background.html``).
        translation: the language of the page, None for English.
        translations: ``course_translations`` from the configuration.

    Returns:
        ``[{"code", "lang", "label", "title", "href"}]``, in the order English, then the
        translations as configured; ``href`` is relative to the page.
    """
    root = site_root(pagename, translation)
    links = []
    if translation is not None:
        links.append({"code": SOURCE_LANGUAGE, "href": f"{root}{target_uri}", **SOURCE_LABEL})
    for code, settings in translations.items():
        if code == translation:
            continue
        links.append(
            {
                "code": code,
                "href": f"{root}{code}/{target_uri}",
                "label": settings.get("label", code),
                "title": settings.get("switch_title", settings.get("label", code)),
            }
        )
    for link in links:
        link["lang"] = html_lang(link["code"])
    return links


def _add_language_switch(app, pagename, templatename, context, doctree) -> None:
    translation = translation_of(app.config)
    links = language_links(
        pagename,
        app.builder.get_target_uri(pagename),
        translation,
        app.config.course_translations or {},
    )
    context["course_language_links"] = links
    alternates = "".join(
        f'<link rel="alternate" hreflang="{link["lang"]}" href="{link["href"]}" />\n'
        for link in links
    )
    context["metatags"] = context.get("metatags", "") + alternates


def _configure(app, config) -> None:
    # the switch: a theme component in the article header, before the theme's buttons
    config.templates_path.append(str(TEMPLATES))
    options = config.html_theme_options
    header_end = options.get("article_header_end", "article-header-buttons.html")
    if isinstance(header_end, str):
        header_end = [item.strip() for item in header_end.split(",") if item.strip()]
    if SWITCH_TEMPLATE not in header_end:
        options["article_header_end"] = [SWITCH_TEMPLATE, *header_end]
    # the gettext builder keeps image outputs, so their alt texts are extracted
    overrides = list(config.nb_mime_priority_overrides or [])
    if not any(builder == "gettext" for builder, *_ in overrides):
        overrides += [
            ("gettext", mime, 10 * rank) for rank, mime in enumerate(EXTRACTION_MIME_ORDER, 1)
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
    for key in ("language_info", "widgets"):
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


def _outputs_from_source_build(app, executed_dir: Path) -> Callable:
    """The notebook hook of a translation: outputs as the English build showed them.

    MyST-NB gives the English pages their outputs from two places, and so does this:
    the jupyter-cache (every notebook executed in ``cache`` mode, by the book build or
    by nbval), read-only here; and, for the pages that execute on every build
    (``execution_mode: force``, never cached), the executed notebook the English build
    wrote to ``_build/jupyter_execute/`` (MyST-NB writes a cached page's notebook there
    without its outputs, so that folder alone is not enough).
    """
    import nbformat

    srcdir = Path(app.srcdir)

    def hook(notebook, path: str, nb_config):
        forced = notebook.metadata.get(nb_config.metadata_key, {}).pop("execution_mode", None)
        docname = _docname(path, srcdir)
        executed_path = executed_dir / f"{docname}.ipynb"
        if executed_path.is_file():
            # read this page again whenever the English build has read it again
            app.env.note_dependency(str(executed_path))
        if forced != "force":
            merged = cached_outputs(notebook, srcdir / nb_config.execution_cache_path)
            if merged is not None:
                return merged
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


class ChineseSearch(chinese_search.SearchChinese):
    """Sphinx's Chinese search index (``jieba``), without its quadratic step.

    Sphinx 7.4 collects every Latin word of the site in a list and looks each word it
    stems up in that list: on this book that took about 20 of the Chinese build's
    seconds. The same lookup in a set gives the same index.
    """

    def init(self, options: dict) -> None:
        super().init(options)
        self.latin_terms = set()  # the base class shares one list among all instances

    def split(self, input: str) -> list[str]:  # noqa: A002 (the base class's name)
        chinese = list(chinese_search.jieba.cut_for_search(input)) if chinese_search.JIEBA else []
        latin = [term.strip() for term in self.latin1_letters.findall(input)]
        self.latin_terms.update(latin)
        return chinese + latin


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


def _forget_message_documents(app, doctree) -> None:
    if translation_of(app.config) is not None:
        forget_message_documents(doctree)


def _install_reader_hook() -> None:
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


def glue_of_page(output_folder: Path, docname: str) -> dict:
    """The glue data MyST-NB wrote for ``docname`` (``<docname>.glue.json``), or ``{}``."""
    import json

    path = Path(output_folder).joinpath(*docname.split("/"))
    path = path.with_name(f"{path.name}.glue.json")
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _install_glue_fallback() -> None:
    """Let ``{glue:text}`` roles inside a translated paragraph find the page's glue data.

    Sphinx parses each translated message as a small document of its own, after MyST-NB
    has finished the page and dropped its renderer; MyST-NB's lookup then finds no glue
    data ("No key ... found in glue data"). The page's glue data is on disk by then
    (MyST-NB writes ``<output folder>/<docname>.glue.json`` at the end of the page's
    parse, before the translation transform runs), so the lookup falls back to it. A page
    that executes on every build reaches a translation without its glue outputs (MyST-NB
    removes them from the notebook it writes), so its own parse falls back too, to the
    English build's file.
    """
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
        # the English build's data first: a page executed on every build (execution_mode:
        # force) reaches this build without its glue outputs, which MyST-NB removes from
        # the notebook it writes; then this build's own, for every other page
        data = glue_of_page(executed_notebooks_of_source(Path(env.app.outdir)), env.docname)
        data.update(glue_of_page(Path(env.mystnb_config.output_folder), env.docname))
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


def _prepare_build(app) -> None:
    global _notebook_hook
    _notebook_hook = None
    mystnb_config = getattr(app.env, "mystnb_config", None)
    if mystnb_config is None:
        return
    if app.builder.name == "gettext":
        # MyST-NB would write its notebooks (here with placeholder outputs) over the
        # English build's in _build/jupyter_execute; the doctree folder is scratch space
        app.env.mystnb_config = mystnb_config.copy(
            execution_mode="off", output_folder=str(Path(app.doctreedir) / "jupyter_execute")
        )

        def extraction_hook(notebook, path, nb_config):
            placeholder_outputs(notebook, nb_config)
            return notebook

        _notebook_hook = extraction_hook
    elif translation_of(app.config) is not None:
        executed = executed_notebooks_of_source(Path(app.outdir))
        own_folder = executed.with_name(f"{executed.name}.{translation_of(app.config)}")
        app.env.mystnb_config = mystnb_config.copy(
            execution_mode="off", output_folder=str(own_folder)
        )
        _notebook_hook = _outputs_from_source_build(app, executed)
        _install_glue_fallback()
        logger.info(
            f"[course_i18n] outputs are taken from the jupyter-cache and {executed}; "
            "nothing executes"
        )
    else:
        return
    _install_reader_hook()


def setup(app):
    # {"zh_CN": {"title": ..., "label": ..., "switch_title": ..., "search_language": ...}}
    app.add_config_value("course_translations", {}, "html")
    app.connect("config-inited", _configure, priority=800)
    # after MyST-NB set up its configuration (priority 500) and course_html checked the
    # cache (600)
    app.connect("builder-inited", _prepare_build, priority=700)
    app.connect("html-page-context", _add_language_switch)
    app.add_transform(TranslateTocCaptions)
    app.connect("doctree-read", _forget_message_documents)
    app.add_search_language(ChineseSearch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
