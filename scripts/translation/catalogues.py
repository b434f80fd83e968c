"""The catalogues on disk: where they are, and reading and writing them.

The paths and defaults every command shares (the repository, the language, the
catalogues' root, the build folders, ``_config.yml``), the ``.po`` and ``.pot`` files
of a folder by page, and a catalogue's messages, read and written as the committed ones
are laid out (a file is written only when its content changes).
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

REPO_ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = "zh_CN"
LOCALES = REPO_ROOT / "locales"
BUILD = REPO_ROOT / "_build"
TEMPLATES = BUILD / "gettext"
COMPILED = BUILD / "locales"
CONFIG = REPO_ROOT / "_config.yml"
#: Line width of written catalogues: 0 is one line per message, as the committed ones are
#: (a file that Babel wrapped at its default, 76, keeps that width: see ``width_of``)
PO_WIDTHS = (0, 76)


def catalogue_folder(locales: Path = LOCALES, language: str = LANGUAGE) -> Path:
    return locales / language / "LC_MESSAGES"


def domains(folder: Path, suffix: str) -> dict[str, Path]:
    """``{"chapters/01_background": path}`` for every ``*<suffix>`` file under ``folder``."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).with_suffix("").as_posix(): path
        for path in sorted(folder.rglob(f"*{suffix}"))
    }


def read_catalogue(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def serialise(catalogue: Catalog, width: int = PO_WIDTHS[0]) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=width, ignore_obsolete=True)
    return buffer.getvalue()


def width_of(path: Path) -> int:
    """The line width a catalogue file was written with (so that rewriting it changes
    only what changed): the first of ``PO_WIDTHS`` that reproduces it, else the first."""
    if path.is_file():
        raw = path.read_bytes()
        for width in PO_WIDTHS:
            buffer = io.BytesIO()
            write_po(buffer, read_po(io.BytesIO(raw)), width=width)
            if buffer.getvalue() == raw:
                return width
    return PO_WIDTHS[0]


def signature(catalogue: Catalog) -> list[tuple]:
    """What a catalogue says, without its header, layout or order: a change here is worth
    a write (a catalogue whose messages only moved is left as it is)."""
    said = [
        (m.id, m.string, sorted(m.flags), m.previous_id, m.auto_comments, m.user_comments)
        for m in messages(catalogue)
    ] + [("obsolete", key, [], (), [], []) for key in catalogue.obsolete]
    return sorted(said, key=repr)


def write_if_changed(path: Path, content: bytes) -> bool:
    if path.is_file() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def messages(catalogue: Catalog):
    """The catalogue's messages without the header entry."""
    return [message for message in catalogue if message.id]


def is_translated(message) -> bool:
    return bool(message.string) and not message.fuzzy


def short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
