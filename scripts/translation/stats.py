"""``stats``: how far each catalogue is (translated, fuzzy and untranslated messages)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalogues import LANGUAGE, catalogue_folder, domains, is_translated, messages, read_catalogue


@dataclass
class Stats:
    total: int
    translated: int
    fuzzy: int

    @property
    def untranslated(self) -> int:
        return self.total - self.translated - self.fuzzy


def stats(folder: Path | None = None, language: str = LANGUAGE) -> dict[str, Stats]:
    folder = folder or catalogue_folder(language=language)
    result = {}
    for domain, path in domains(folder, ".po").items():
        found = messages(read_catalogue(path, language))
        result[domain] = Stats(
            total=len(found),
            translated=sum(is_translated(m) for m in found),
            fuzzy=sum(bool(m.fuzzy) for m in found),
        )
    return result
