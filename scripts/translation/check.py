"""``check``: every problem of the catalogues, per file and message."""

from __future__ import annotations

from pathlib import Path

from .catalogues import LANGUAGE, REPO_ROOT, catalogue_folder, domains, messages, read_catalogue
from .glossary import LEADING_BOLD, glossary_definitions, glossary_problems, terminology
from .problem import Problem
from .syntax import syntax_problems


def check(
    folder: Path | None = None,
    templates: Path | None = None,
    language: str = LANGUAGE,
    sources: Path = REPO_ROOT,
) -> list[Problem]:
    """Every problem of the catalogues, per file and message.

    Without ``templates``: untranslated and fuzzy messages, obsolete entries and broken
    syntax. With them (the templates of the current English sources): also every English
    message a catalogue lacks (the English changed and ``update`` was not run), every
    catalogue entry whose English is gone, and every page without a catalogue.
    """
    folder = folder or catalogue_folder(language=language)
    renderings = terminology(folder.parent / "terminology.tsv")
    problems: list[Problem] = []
    po_paths = domains(folder, ".po")

    def name(path: Path) -> str:
        try:
            return path.relative_to(sources).as_posix()
        except ValueError:
            return str(path)

    template_ids: dict[str, list[str]] = {}
    if templates is not None:
        for domain, path in domains(templates, ".pot").items():
            template_ids[domain] = [m.id for m in messages(read_catalogue(path))]
            if domain not in po_paths:
                problems.append(
                    Problem(name(folder / f"{domain}.po"), "no catalogue for this page", domain)
                )
    for domain, path in po_paths.items():
        file = name(path)
        catalogue = read_catalogue(path, language)
        definitions = glossary_definitions(domain, sources)
        if templates is not None and domain not in template_ids:
            problems.append(Problem(file, "catalogue of a page that no longer exists", domain))
        current = set(template_ids.get(domain, []))
        known = set()
        for message in messages(catalogue):
            known.add(message.id)
            if templates is not None and domain in template_ids and message.id not in current:
                problems.append(Problem(file, "stale: no longer in the English", message.id))
                continue
            if message.fuzzy:
                problems.append(Problem(file, "fuzzy", message.id))
            elif not message.string:
                problems.append(Problem(file, "untranslated", message.id))
            translated = message.string or ""
            if message.id in definitions:  # starts with the term's bold rendering on purpose
                translated = LEADING_BOLD.sub("", translated, count=1)
            for detail in syntax_problems(message.id, translated):
                problems.append(Problem(file, "syntax", message.id, detail))
        for message in catalogue.obsolete.values():
            problems.append(Problem(file, "stale: obsolete entry (#~)", message.id))
        for msgid in template_ids.get(domain, []):
            if msgid not in known:
                problems.append(
                    Problem(file, "missing: the English is new or changed (run update)", msgid)
                )
        problems += glossary_problems(domain, catalogue, file, renderings, sources)
    return problems
