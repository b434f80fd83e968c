"""``compile``: the binary ``.mo`` catalogues that Sphinx reads, in ``_build/locales/``."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo

from .catalogues import (
    COMPILED,
    LANGUAGE,
    catalogue_folder,
    domains,
    read_catalogue,
    write_if_changed,
)


def compile_catalogues(
    folder: Path | None = None, output: Path = COMPILED, language: str = LANGUAGE
) -> list[str]:
    """Write ``<output>/<language>/LC_MESSAGES/<page>.mo`` for every catalogue.

    Fuzzy and empty translations are left out (the English shows there). Each ``.po`` is
    copied beside its ``.mo``: Sphinx finds catalogues by their ``.po`` and then re-reads
    a page when its ``.mo`` is newer than the page, so a file is only written when its
    content changed, and an unchanged catalogue costs no re-read. Returns the pages
    whose ``.mo`` was written.
    """
    folder = folder or catalogue_folder(language=language)
    target = output / language / "LC_MESSAGES"
    written = []
    sources = domains(folder, ".po")
    for domain, path in sources.items():
        buffer = io.BytesIO()
        write_mo(buffer, read_catalogue(path, language), use_fuzzy=False)
        if write_if_changed(target / f"{domain}.mo", buffer.getvalue()):
            written.append(domain)
        write_if_changed(target / f"{domain}.po", path.read_bytes())
    for suffix in (".mo", ".po"):
        for domain, path in domains(target, suffix).items():
            if domain not in sources:
                path.unlink()
    return written
