"""The glossary: its headwords and definitions in the MyST sources, their Chinese
renderings in ``terminology.tsv``, and the problems of their translations."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog

from .catalogues import REPO_ROOT, is_translated, messages
from .problem import Problem


def glossary_blocks(source: Path) -> list[dict[str, str]]:
    """The terms of every ``{glossary}`` block in a MyST Markdown file, with the first
    paragraph of each definition as Sphinx extracts it (lines joined by spaces)."""
    text = source.read_text(encoding="utf-8")
    entries = []
    for block in re.finditer(r"^```\{glossary\}[^\n]*\n(?P<body>.*?)^```\s*$", text, re.S | re.M):
        current = None
        paragraph: list[str] = []
        for line in block["body"].splitlines():
            if line.startswith(":") and current is None:
                continue  # an option such as :sorted:
            if line and not line[0].isspace():
                current = {"term": line.strip(), "definition": ""}
                entries.append(current)
                paragraph = []
            elif current is not None and line.strip() and not current["definition"]:
                paragraph.append(line.strip())
            elif current is not None and paragraph and not current["definition"]:
                current["definition"] = " ".join(paragraph)
        if current is not None and paragraph and not current["definition"]:
            current["definition"] = " ".join(paragraph)
    return entries


def terminology(path: Path) -> dict[str, str]:
    """English term -> Chinese rendering, from ``locales/<language>/terminology.tsv``."""
    renderings = {}
    if not path.is_file():
        return renderings
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) >= 2 and columns[0] != "english":
            renderings[columns[0].strip()] = columns[1].strip()
    return renderings


#: the bold rendering a glossary definition starts with (**注意力**)
LEADING_BOLD = re.compile(r"^\s*\*\*[^*]+\*\*")


def glossary_definitions(domain: str, sources: Path = REPO_ROOT) -> set[str]:
    """The first paragraphs of the glossary definitions of a page (MyST sources only)."""
    source = sources / f"{domain}.md"
    if not source.is_file():
        return set()
    return {entry["definition"] for entry in glossary_blocks(source) if entry["definition"]}


def glossary_problems(
    domain: str,
    catalogue: Catalog,
    file: str,
    renderings: dict[str, str],
    sources: Path = REPO_ROOT,
) -> list[Problem]:
    """Glossary headwords must keep their English (the {term} references resolve by it),
    and each definition must start with the term's bold rendering from terminology.tsv."""
    source = sources / f"{domain}.md"
    if not source.is_file():
        return []
    problems = []
    by_id = {message.id: message for message in messages(catalogue)}
    for entry in glossary_blocks(source):
        headword = by_id.get(entry["term"])
        if headword is not None and headword.string and headword.string != headword.id:
            problems.append(
                Problem(
                    file,
                    "glossary headword translated",
                    headword.id,
                    "keep the English headword as msgstr, or every {term} reference breaks",
                )
            )
        definition = by_id.get(entry["definition"])
        rendering = renderings.get(entry["term"])
        if definition is None or not is_translated(definition) or not rendering:
            continue
        if not definition.string.lstrip().startswith(f"**{rendering}**"):
            problems.append(
                Problem(
                    file,
                    "glossary definition",
                    definition.id,
                    f"should start with **{rendering}** (terminology.tsv)",
                )
            )
    return problems
