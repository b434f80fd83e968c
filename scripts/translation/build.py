"""``build``: the translated site, built from the English sources with ``language`` set."""

from __future__ import annotations

import os
import sys

from .catalogues import BUILD, CONFIG, LANGUAGE, REPO_ROOT
from .compile import compile_catalogues


def import_build_sphinx():
    """Jupyter Book's ``build_sphinx``, imported without rfc3987-syntax's grammars.

    jsonschema (imported with Jupyter Book) imports rfc3987-syntax where it is installed
    (JupyterLab's extras are), which compiles 38 grammars, about 1.2 s of the build, for
    an "iri" format check that nothing in the build asks for. It is left out while
    Jupyter Book is imported, and can be imported again afterwards.
    """
    skip_grammars = "rfc3987_syntax" not in sys.modules
    if skip_grammars:
        sys.modules["rfc3987_syntax"] = None  # an import of it raises ImportError
    try:
        from jupyter_book.sphinx import build_sphinx
    finally:
        if skip_grammars and sys.modules.get("rfc3987_syntax", ...) is None:
            del sys.modules["rfc3987_syntax"]
    return build_sphinx


def build(
    language: str = LANGUAGE,
    warnings_are_errors: bool = False,
    nitpicky: bool = False,
    keep_going: bool = False,
    nothing_translated: bool = False,
) -> int:
    """Compile the catalogues and build the translated site into ``_build/html/<language>``.

    The English site must be built first: the translation takes every notebook's outputs
    from the English build (``_build/jupyter_execute``) and executes nothing.

    ``nothing_translated`` is a measurement (``scripts/benchmark.py --languages``): the
    same build with no catalogue and the English search index, that is, what building the
    pages a second time costs before anything is translated. Its doctrees go to a folder
    of their own; its pages replace the translated ones.
    """
    build_sphinx = import_build_sphinx()

    # beside the English build (scripts/book.py sets the variable of
    # _ext/course_i18n/concurrent.py), this build waits for what it needs of it
    beside_english = bool(os.environ.get("COURSE_BOOK_WAIT_FOR_ENGLISH"))
    if not beside_english and not (BUILD / "html" / "index.html").is_file():
        print("build: no English site in _build/html: run `jupyter-book build .` first")
        return 1
    overrides = {"latex_individualpages": False, "language": language}
    doctrees = BUILD / f".doctrees.{language}"
    if nothing_translated:
        import yaml  # with Sphinx; the catalogue commands need only Babel

        config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["sphinx"]["config"]
        settings = dict(config["course_translations"][language])
        settings.pop("search_language", None)
        overrides["course_translations"] = {language: settings}
        overrides["locale_dirs"] = []
        doctrees = doctrees.with_name(f"{doctrees.name}.untranslated")
    else:
        written = compile_catalogues(language=language)
        print(f"compile: {len(written)} catalogue(s) changed")
    if nitpicky:
        overrides["nitpicky"] = True
    status = build_sphinx(
        REPO_ROOT,
        BUILD / "html" / language,
        noconfig=True,
        path_config=str(CONFIG),
        confoverrides=overrides,
        doctreedir=doctrees,
        builder="html",
        warningiserror=warnings_are_errors,
        keep_going=keep_going,
    )
    if status != 0:
        return 1
    if nothing_translated:
        print(f"Built untranslated into _build/html/{language} (build it again to translate)")
        return 0
    print(f"The {language} edition is built: _build/html/{language}/intro.html")
    return 0
