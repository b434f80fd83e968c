"""What a translation must carry over unchanged: roles and their targets, code, maths,
links, footnotes and bold markers (and bold that CommonMark would leave as ``**``)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

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
