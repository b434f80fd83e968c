"""The course's translations: message catalogues in, a translated site out.

``scripts/i18n.py`` is the command; this package does the work, one job per module:

- ``catalogues``: the shared paths and defaults, and catalogue files read and written;
- ``extract``: the English sources' messages, one ``.pot`` template per page;
- ``update``: the templates merged into the catalogues (``update``, ``fill-twins``);
- ``syntax``: what a translation must carry over (roles, code, maths, links, bold);
- ``glossary``: glossary headwords, definitions and their ``terminology.tsv`` renderings;
- ``problem``: one problem that ``check`` reports;
- ``check``: every problem of the catalogues, per file and message;
- ``compile``: the ``.mo`` catalogues in ``_build/locales/``;
- ``stats``: how far each catalogue is;
- ``build``: the translated site;
- ``cli``: the command line.

The names below are the package's public ones, also reachable as ``i18n.<name>`` from
the command (the tests load ``scripts/i18n.py`` and call them there).
"""

from .build import build, import_build_sphinx
from .catalogues import (
    BUILD,
    COMPILED,
    CONFIG,
    LANGUAGE,
    LOCALES,
    PO_WIDTHS,
    REPO_ROOT,
    TEMPLATES,
    catalogue_folder,
    domains,
    is_translated,
    messages,
    read_catalogue,
    serialise,
    short,
    signature,
    width_of,
    write_if_changed,
)
from .check import check
from .cli import main
from .compile import compile_catalogues
from .extract import extract
from .glossary import (
    LEADING_BOLD,
    glossary_blocks,
    glossary_definitions,
    glossary_problems,
    terminology,
)
from .problem import Problem
from .stats import Stats, stats
from .syntax import (
    CODE_SPAN,
    DISPLAY_MATH,
    FOOTNOTE,
    INLINE_MATH,
    LINK_TARGET,
    PLACEHOLDER,
    REFERENCE_ROLES,
    ROLE,
    TITLED,
    URL,
    Syntax,
    role_key,
    syntax_of,
    syntax_problems,
    unpaired_bold,
)
from .update import (
    UpdateReport,
    fill_from_pool,
    fill_twins,
    new_catalogue,
    translation_pool,
    update,
)

__all__ = [
    # catalogues
    "REPO_ROOT",
    "LANGUAGE",
    "LOCALES",
    "BUILD",
    "TEMPLATES",
    "COMPILED",
    "CONFIG",
    "PO_WIDTHS",
    "catalogue_folder",
    "domains",
    "read_catalogue",
    "serialise",
    "width_of",
    "signature",
    "write_if_changed",
    "messages",
    "is_translated",
    "short",
    # extract
    "extract",
    # update
    "UpdateReport",
    "translation_pool",
    "fill_from_pool",
    "new_catalogue",
    "update",
    "fill_twins",
    # syntax
    "ROLE",
    "TITLED",
    "REFERENCE_ROLES",
    "CODE_SPAN",
    "DISPLAY_MATH",
    "INLINE_MATH",
    "URL",
    "LINK_TARGET",
    "FOOTNOTE",
    "PLACEHOLDER",
    "role_key",
    "Syntax",
    "syntax_of",
    "unpaired_bold",
    "syntax_problems",
    # glossary
    "glossary_blocks",
    "terminology",
    "LEADING_BOLD",
    "glossary_definitions",
    "glossary_problems",
    # problem, check
    "Problem",
    "check",
    # compile, stats
    "compile_catalogues",
    "Stats",
    "stats",
    # build
    "import_build_sphinx",
    "build",
    # the command line
    "main",
]
