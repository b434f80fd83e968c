"""``update`` and ``fill-twins``: the templates merged into the catalogues, translations
kept, and each translation reused wherever the same English is still untranslated."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog

from .catalogues import (
    LANGUAGE,
    TEMPLATES,
    catalogue_folder,
    domains,
    is_translated,
    messages,
    read_catalogue,
    serialise,
    signature,
    width_of,
    write_if_changed,
)


@dataclass
class UpdateReport:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    obsolete: list[str] = field(default_factory=list)
    new_messages: int = 0
    fuzzy_messages: int = 0
    reused: int = 0


def translation_pool(catalogues: dict[str, Catalog]) -> dict[str, Counter]:
    """Every finished translation of every message, across catalogues."""
    pool: dict[str, Counter] = {}
    for catalogue in catalogues.values():
        for message in messages(catalogue):
            if is_translated(message):
                pool.setdefault(message.id, Counter())[message.string] += 1
    return pool


def fill_from_pool(catalogue: Catalog, pool: dict[str, Counter]) -> list[tuple[str, str, int]]:
    """Give every untranslated (empty, not fuzzy) message of ``catalogue`` the translation
    the same English has elsewhere; return ``(msgid, msgstr, choices)`` for each filled.

    Existing translations, fuzzy or not, are never changed. Where the same English has
    several translations elsewhere, the most frequent is taken (``choices`` > 1 says so).
    """
    filled = []
    for message in messages(catalogue):
        if message.string or message.fuzzy or message.id not in pool:
            continue
        choices = pool[message.id]
        message.string = choices.most_common(1)[0][0]
        filled.append((message.id, message.string, len(choices)))
    return filled


def new_catalogue(template: Catalog, language: str) -> Catalog:
    catalogue = Catalog(
        locale=language,
        project=template.project,
        version=template.version,
        copyright_holder=template.copyright_holder,
        creation_date=template.creation_date,
        charset="utf-8",
        fuzzy=False,
    )
    catalogue.update(template, no_fuzzy_matching=True, update_creation_date=False)
    return catalogue


def update(
    templates: Path = TEMPLATES,
    folder: Path | None = None,
    language: str = LANGUAGE,
    dry_run: bool = False,
) -> UpdateReport:
    """Merge the templates into the catalogues, keeping every translation.

    - A message that is new in the English comes out untranslated, unless the same English
      is translated in another catalogue (a paragraph moved between pages, or shared by
      twin labs): that translation is reused.
    - A message whose English changed comes out *fuzzy*, with the old translation and the
      old English (``#| msgid``) for the translator to revise: Babel's fuzzy matching.
    - A message whose English is gone is dropped from the catalogue.
    - A page without a catalogue gets a new one; a catalogue whose page is gone is
      reported, not deleted.

    Files whose content would not change are not written.
    """
    folder = folder or catalogue_folder(language=language)
    template_paths = domains(templates, ".pot")
    if not template_paths:
        raise SystemExit(f"update: no templates in {templates}: run `extract` first")
    po_paths = domains(folder, ".po")
    catalogues = {domain: read_catalogue(path, language) for domain, path in po_paths.items()}
    pool = translation_pool(catalogues)
    report = UpdateReport()
    for domain, template_path in template_paths.items():
        template = read_catalogue(template_path)
        target = folder / f"{domain}.po"
        if domain in catalogues:
            catalogue = catalogues[domain]
            before = {m.id: (m.string, m.fuzzy) for m in messages(catalogue)}
            unchanged_signature = signature(catalogue)
            catalogue.update(
                template,
                no_fuzzy_matching=False,
                update_header_comment=False,
                update_creation_date=False,
            )
        else:
            before = {}
            unchanged_signature = None
            catalogue = new_catalogue(template, language)
            report.created.append(domain)
        report.reused += len(fill_from_pool(catalogue, pool))
        for message in messages(catalogue):
            if message.id not in before:
                if message.fuzzy:
                    report.fuzzy_messages += 1
                elif not message.string:
                    report.new_messages += 1
        if signature(catalogue) == unchanged_signature:
            continue  # nothing to say: the file is left as it is, layout included
        if domain not in report.created:
            report.changed.append(domain)
        if not dry_run:
            write_if_changed(target, serialise(catalogue, width_of(target)))
    report.obsolete = sorted(set(po_paths) - set(template_paths))
    return report


def fill_twins(
    folder: Path | None = None, language: str = LANGUAGE, dry_run: bool = False
) -> list[tuple[str, str, str, int]]:
    """Copy translations to identical, still untranslated English in other catalogues.

    Returns ``(domain, msgid, msgstr, choices)`` for every message filled.
    """
    folder = folder or catalogue_folder(language=language)
    paths = domains(folder, ".po")
    catalogues = {domain: read_catalogue(path, language) for domain, path in paths.items()}
    pool = translation_pool(catalogues)
    filled = []
    for domain, catalogue in catalogues.items():
        done = fill_from_pool(catalogue, pool)
        if done and not dry_run:
            write_if_changed(paths[domain], serialise(catalogue, width_of(paths[domain])))
        filled += [(domain, *item) for item in done]
    return filled
