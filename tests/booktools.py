"""What the book is made of: its table of contents and which sources it executes.

Shared by the root ``conftest.py`` (which hands the notebooks to nbval) and the tests.
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD = REPO_ROOT / "_build"
HTML = BUILD / "html"
JUPYTER_CACHE = BUILD / ".jupyter_cache"
#: The build logs that scripts/book.py writes, and the Chinese site inside the English one
ENGLISH_BUILD_LOG = BUILD / "book-build.log"
ZH_HTML = HTML / "zh_CN"
ZH_BUILD_LOG = BUILD / "book-build.zh_CN.log"


def toc_files(toc_path: Path = REPO_ROOT / "_toc.yml") -> list[str]:
    """Every document named in the table of contents, in reading order (no suffix)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    found: list[str] = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return found


def resolve_source(docname: str) -> Path:
    """The source file of a TOC entry (``.md`` or ``.py``)."""
    for suffix in (".md", ".py", ".ipynb"):
        candidate = REPO_ROOT / f"{docname}{suffix}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"_toc.yml names {docname!r} but no .md or .py file exists for it")


def is_executable(path: Path) -> bool:
    """Whether the book executes this source (a py:percent lab or a MyST notebook)."""
    if path.suffix == ".py":
        return True
    if path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            return False
        front_matter = text.split("---", 2)[1]
        return "kernelspec" in front_matter
    return False


def executable_sources() -> list[Path]:
    return [path for path in map(resolve_source, toc_files()) if is_executable(path)]


def pages_reading_results() -> list[str]:
    """TOC entries that show what the labs recorded (``course_always_reread`` in _config.yml)."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    return list(config["sphinx"]["config"].get("course_always_reread", []))


def execution_order() -> list[Path]:
    """The executable sources in the order they must run: reading order, except that the
    pages showing recorded results come last (the book build reads them last too)."""
    late = [resolve_source(docname) for docname in pages_reading_results()]
    return [p for p in executable_sources() if p not in late] + late


def read_source(path: Path):
    """Read a notebook source exactly as the book build reads it."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        import jupytext

        return jupytext.reads(text, fmt="py:percent")
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    book_config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    extensions = book_config.get("parse", {}).get("myst_enable_extensions", [])
    return read_myst_markdown_notebook(
        text,
        config=MdParserConfig(enable_extensions=set(extensions)),
        add_source_map=True,
        path=str(path),
    )
