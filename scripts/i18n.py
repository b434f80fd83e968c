"""The course's translations: message catalogues in, a translated site out.

The English sources are the only sources. Sphinx's gettext builder extracts their text
into one template per page; each translation keeps one catalogue per page under
``locales/<language>/LC_MESSAGES/`` (``chapters/01_background.po``), and the translated
site is built from the same sources with ``language`` set, into a subfolder of the
English site. The workflow, for a translator or after any change to English text::

    python scripts/i18n.py extract      # templates (.pot) of the current sources -> _build/gettext
    python scripts/i18n.py update       # merge them into locales/zh_CN/LC_MESSAGES/*.po
    python scripts/i18n.py fill-twins   # reuse translations of paragraphs the twin labs share
    (translate: fill msgstr, clear the fuzzy flags you have checked)
    python scripts/i18n.py check        # every message translated, and nothing broken
    python scripts/i18n.py build        # compile, then build the Chinese site (make book does it)

``stats`` prints how far each catalogue is; ``compile`` writes the binary ``.mo``
catalogues into ``_build/locales/`` (never into ``locales/``; nothing compiled is
committed).

Only the standard library and Babel (a dependency of Sphinx) are needed for
``update``, ``fill-twins``, ``check``, ``compile`` and ``stats``; ``extract`` and
``build`` run Sphinx through Jupyter Book's configuration (``_config.yml``), in this
process, without writing a ``conf.py``.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

REPO_ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "zh_CN"
LOCALES = REPO_ROOT / "locales"
BUILD = REPO_ROOT / "_build"
TEMPLATES = BUILD / "gettext"
COMPILED = BUILD / "locales"
CONFIG = REPO_ROOT / "_config.yml"
#: Line width of written catalogues: 0 is one line per message, as the committed ones are
#: (a file that Babel wrapped at its default, 76, keeps that width: see ``width_of``)
PO_WIDTHS = (0, 76)


# --------------------------------------------------------------------------- catalogues


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


# --------------------------------------------------------------------------- extract


def extract(output: Path = TEMPLATES, quiet: bool = True) -> int:
    """Write one ``.pot`` template per page of the book into ``output``; return the status.

    Sphinx's gettext builder runs over the sources with ``_config.yml`` (the settings
    ``gettext_compact: false``, ``gettext_uuid: false``, ``gettext_location: false`` are
    there), in a temporary folder, with nothing executed: ``_ext/course_i18n/`` turns
    execution off and gives captioned figures a placeholder output so that their
    captions and alt texts are extracted. Only the templates are kept.
    """
    from jupyter_book.sphinx import build_sphinx

    with tempfile.TemporaryDirectory(prefix="course-i18n-extract-") as tmp:
        scratch = Path(tmp)
        status = build_sphinx(
            REPO_ROOT,
            scratch / "gettext",
            noconfig=True,
            path_config=str(CONFIG),
            confoverrides={
                "latex_individualpages": False,
                "nb_execution_mode": "off",
                # the book's cache is neither read nor written (nor checked for staleness)
                "nb_execution_cache_path": str(scratch / "cache"),
            },
            doctreedir=scratch / "doctrees",
            builder="gettext",
            freshenv=True,
            quiet=quiet,
        )
        if status != 0:
            print(f"extract: Sphinx failed ({status})", file=sys.stderr)
            return 1
        if output.exists():
            shutil.rmtree(output)
        for domain, template in domains(scratch / "gettext", ".pot").items():
            if domain == "sphinx":  # theme strings, not the course's text
                continue
            target = output / f"{domain}.pot"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, target)
    count = len(domains(output, ".pot"))
    where = output.relative_to(REPO_ROOT) if output.is_relative_to(REPO_ROOT) else output
    print(f"extract: {count} templates in {where}")
    return 0


# --------------------------------------------------------------------------- update


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


# --------------------------------------------------------------------------- check

#: A MyST role: {name}`content` (content in as many backticks as it needs)
ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:.+-]*)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)", re.S)
#: "title <target>" inside a reference role
TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
REFERENCE_ROLES = {"doc", "ref", "numref", "term", "eq", "download", "any", "prf:ref"}
CODE_SPAN = re.compile(r"(?P<ticks>`+)(?P<content>.+?)(?P=ticks)", re.S)
DISPLAY_MATH = re.compile(r"\$\$(?P<content>.+?)\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])(?P<content>[^$]+?)(?<![\s\\])\$(?!\d)")
URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+")
LINK_TARGET = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
FOOTNOTE = re.compile(r"\[\^(?P<name>[^\]\s]+)\]")
PLACEHOLDER = "\x00"


def role_key(name: str, content: str) -> tuple[str, str]:
    """What must stay the same in a role when its text is translated."""
    content = " ".join(content.split())
    if name in REFERENCE_ROLES or name.endswith(":ref"):
        titled = TITLED.match(content)
        target = titled["target"].strip() if titled else content
        if name == "term":  # Sphinx matches glossary terms case-insensitively
            target = target.lower()
        return name, target
    if name.startswith("cite"):
        return name, ",".join(sorted(key.strip() for key in content.split(",")))
    return name, content


@dataclass
class Syntax:
    """The parts of a message that a translation must carry over unchanged."""

    roles: Counter
    code: Counter
    math: Counter
    urls: Counter
    footnotes: Counter
    bold_markers: int
    prose: str  # the text with roles, code and math replaced by a placeholder


def syntax_of(text: str) -> Syntax:
    roles = Counter(role_key(m["name"], m["content"]) for m in ROLE.finditer(text))
    rest = ROLE.sub(PLACEHOLDER, text)
    code = Counter(m["content"].strip() for m in CODE_SPAN.finditer(rest))
    rest = CODE_SPAN.sub(PLACEHOLDER, rest)
    math = Counter(" ".join(m["content"].split()) for m in DISPLAY_MATH.finditer(rest))
    rest = DISPLAY_MATH.sub(PLACEHOLDER, rest)
    math += Counter(" ".join(m["content"].split()) for m in INLINE_MATH.finditer(rest))
    rest = INLINE_MATH.sub(PLACEHOLDER, rest)
    urls = Counter(URL.findall(rest)) + Counter(
        m["target"] for m in LINK_TARGET.finditer(rest) if not URL.match(m["target"])
    )
    return Syntax(
        roles=roles,
        code=code,
        math=math,
        urls=urls,
        footnotes=Counter(FOOTNOTE.findall(rest)),
        bold_markers=rest.count("**"),
        prose=rest,
    )


def _is_punctuation(char: str) -> bool:
    # CommonMark: ASCII punctuation, or a Unicode punctuation character (category P*)
    if not char:
        return False
    if char.isascii():
        return not char.isalnum() and not char.isspace()
    return unicodedata.category(char).startswith("P")


def _is_space(char: str) -> bool:
    return not char or char.isspace()


def unpaired_bold(text: str) -> list[int]:
    """Positions of ``**`` runs that CommonMark (and so MyST) leaves as literal asterisks.

    A run opens emphasis only if it is left-flanking and closes only if right-flanking:
    ``**`` next to Chinese punctuation often is neither (``中文**“引文”**中文`` shows the
    asterisks), a mistake that the English original does not make. The runs are then
    paired left to right; what is left over stays literal.
    """
    problems, openers = [], []
    for match in re.finditer(r"(?<!\*)\*\*(?!\*)", text):
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        left = not _is_space(after) and (
            not _is_punctuation(after) or _is_space(before) or _is_punctuation(before)
        )
        right = not _is_space(before) and (
            not _is_punctuation(before) or _is_space(after) or _is_punctuation(after)
        )
        if right and openers:
            openers.pop()
        elif left:
            openers.append(match.start())
        else:
            problems.append(match.start())
    return sorted(problems + openers)


def syntax_problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation broke: roles and their targets, code, math, URLs, footnotes and
    bold markers must be those of the English."""
    if not msgstr:
        return []
    source, translated = syntax_of(msgid), syntax_of(msgstr)
    problems = []

    def compare(kind: str, english: Counter, chinese: Counter, show) -> None:
        missing, extra = english - chinese, chinese - english
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(show(item) for item in sorted(missing)))
            if extra:
                parts.append("not in the English " + ", ".join(show(i) for i in sorted(extra)))
            problems.append(f"{kind}: " + "; ".join(parts))

    compare("roles", source.roles, translated.roles, lambda r: f"{{{r[0]}}}`{r[1]}`")
    compare("code", source.code, translated.code, lambda c: f"`{c}`")
    compare("math", source.math, translated.math, lambda m: f"${m}$")
    compare("links", source.urls, translated.urls, str)
    compare("footnotes", source.footnotes, translated.footnotes, lambda f: f"[^{f}]")
    if source.bold_markers != translated.bold_markers:
        problems.append(
            f"bold: {translated.bold_markers} ** markers, the English has {source.bold_markers}"
        )
    elif not unpaired_bold(source.prose) and unpaired_bold(translated.prose):
        problems.append(
            "bold: a ** marker will show literally: next to punctuation such as “ ” （ ） it "
            "needs a space or punctuation on its other side (write “**粗体**”, not **“粗体”**)"
        )
    return problems


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


@dataclass(frozen=True)
class Problem:
    file: str
    kind: str
    msgid: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.file}: {self.kind}{detail}: {short(self.msgid)!r}"


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


# --------------------------------------------------------------------------- compile, stats


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


# --------------------------------------------------------------------------- build


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
) -> int:
    """Compile the catalogues and build the translated site into ``_build/html/<language>``.

    The English site must be built first: the translation takes every notebook's outputs
    from the English build (``_build/jupyter_execute``) and executes nothing.
    """
    build_sphinx = import_build_sphinx()

    if not (BUILD / "html" / "index.html").is_file():
        print("build: no English site in _build/html: run `jupyter-book build .` first")
        return 1
    written = compile_catalogues(language=language)
    print(f"compile: {len(written)} catalogue(s) changed")
    overrides = {"latex_individualpages": False, "language": language}
    if nitpicky:
        overrides["nitpicky"] = True
    status = build_sphinx(
        REPO_ROOT,
        BUILD / "html" / language,
        noconfig=True,
        path_config=str(CONFIG),
        confoverrides=overrides,
        doctreedir=BUILD / f".doctrees.{language}",
        builder="html",
        warningiserror=warnings_are_errors,
        keep_going=keep_going,
    )
    if status != 0:
        return 1
    print(f"The {language} edition is built: _build/html/{language}/intro.html")
    return 0


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/i18n.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--language", default=LANGUAGE, help=f"default: {LANGUAGE}")
    parser.add_argument(
        "--locales", type=Path, default=LOCALES, help="the catalogues' root (default: locales/)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("extract", help="write the .pot templates to _build/gettext")
    for command, text in (
        ("update", "merge the templates into the catalogues"),
        ("fill-twins", "copy translations to identical untranslated messages"),
    ):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("--dry-run", action="store_true", help="report, write nothing")
    sub = commands.add_parser("check", help="every problem, per file and message; exit 1 if any")
    where = sub.add_mutually_exclusive_group()
    where.add_argument(
        "--templates", type=Path, help="compare with these templates instead of extracting"
    )
    where.add_argument(
        "--no-extract", action="store_true", help="check the catalogues alone (no comparison)"
    )
    commands.add_parser("compile", help="write the .mo catalogues into _build/locales")
    commands.add_parser("stats", help="how far each catalogue is")
    sub = commands.add_parser("build", help="compile, then build the translated site")
    sub.add_argument("-W", dest="warnings_are_errors", action="store_true")
    sub.add_argument("-n", dest="nitpicky", action="store_true")
    sub.add_argument("--keep-going", action="store_true")
    args = parser.parse_args(argv)
    language = args.language
    folder = catalogue_folder(args.locales, language)

    if args.command == "extract":
        return extract()
    if args.command == "update":
        report = update(folder=folder, language=language, dry_run=args.dry_run)
        verb = "would be" if args.dry_run else "were"
        print(
            f"update: {len(report.changed)} catalogue(s) {verb} changed, "
            f"{len(report.created)} created; {report.new_messages} new message(s) to "
            f"translate, {report.fuzzy_messages} fuzzy (English changed), "
            f"{report.reused} filled from identical English elsewhere"
        )
        for domain in report.created:
            print(f"  new catalogue: {domain}.po")
        for domain in report.obsolete:
            print(f"  obsolete: {domain}.po has no page any more (delete it, or move it)")
        return 0
    if args.command == "fill-twins":
        filled = fill_twins(folder, language=language, dry_run=args.dry_run)
        for domain, msgid, _msgstr, choices in filled:
            note = f" (one of {choices} translations)" if choices > 1 else ""
            print(f"  {domain}.po: {short(msgid, 70)!r}{note}")
        print(f"fill-twins: {len(filled)} message(s) {'to fill' if args.dry_run else 'filled'}")
        return 0
    if args.command == "check":
        if args.no_extract:
            problems = check(folder, language=language)
        elif args.templates:
            problems = check(folder, templates=args.templates, language=language)
        else:
            with tempfile.TemporaryDirectory(prefix="course-i18n-check-") as tmp:
                if extract(Path(tmp)) != 0:
                    return 1
                problems = check(folder, templates=Path(tmp), language=language)
        for problem in problems:
            print(problem)
        kinds = Counter(problem.kind.split(":")[0] for problem in problems)
        summary = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        print(f"check: {len(problems)} problem(s)" + (f": {summary}" if summary else ""))
        return 1 if problems else 0
    if args.command == "compile":
        written = compile_catalogues(folder, language=language)
        print(f"compile: {len(written)} .mo file(s) written to {COMPILED.relative_to(REPO_ROOT)}")
        return 0
    if args.command == "stats":
        table = stats(folder, language=language)
        width = max((len(domain) for domain in table), default=10)
        print(f"{'catalogue':<{width}}  messages  translated  fuzzy  untranslated")
        for domain, row in table.items():
            print(
                f"{domain:<{width}}  {row.total:8}  {row.translated:10}  {row.fuzzy:5}  "
                f"{row.untranslated:12}"
            )
        total = Stats(
            sum(r.total for r in table.values()),
            sum(r.translated for r in table.values()),
            sum(r.fuzzy for r in table.values()),
        )
        share = 100 * total.translated / total.total if total.total else 0.0
        print(
            f"{'all':<{width}}  {total.total:8}  {total.translated:10}  {total.fuzzy:5}  "
            f"{total.untranslated:12}   ({share:.1f}% translated)"
        )
        return 0
    if args.command == "build":
        return build(language, args.warnings_are_errors, args.nitpicky, args.keep_going)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
