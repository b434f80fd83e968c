"""The Chinese site (``_build/html/zh_CN``) as a reader meets it, in headless Chromium.

Built by the session's ``build_log`` fixture beside the English site (``scripts/book.py``),
from the catalogues in ``locales/zh_CN``. Besides rendering, these
tests check that the Chinese pages are Chinese: the share of CJK characters in each
page's prose, and that no paragraph of prose is left in English.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from tests import test_site
from tests.booktools import HTML, ZH_BUILD_LOG, ZH_HTML, toc_files
from tests.test_site import open_page

#: the module-scoped headless Chromium of tests/test_site.py, shared by these tests
browser = test_site.browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGE = ZH_HTML.name

#: The least share of CJK characters among the letters and CJK characters of a page's
#: prose (the article, less code, outputs, maths and citations). Measured on 2026-12-03
#: with the catalogues as they then stood: 0.65 (the pretrained-models page, with its
#: tables of model names and many citations) to 0.92 (a distributed-training lab); every
#: English page 0.00; a page whose catalogue was removed, 0.00. By the letters a
#: paragraph has in each language, a page with roughly a fifth of its paragraphs left in
#: English is near 0.5; the English-paragraph test below catches even one.
CJK_SHARE_MIN = 0.5
#: A block of prose with no CJK character and at least this many English words is an
#: English paragraph that a Chinese reader would meet.
ENGLISH_WORDS_MAX = 8

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_LETTER = re.compile(r"[A-Za-z]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
CITATION = re.compile(r"\[[^\]]*\d{4}[a-z]?\]")  # [Vaswani et al., 2017]
URL = re.compile(r"https?://\S+")
UNRENDERED_ROLE = re.compile(r"\{(doc|ref|numref|term|eq|math|download|cite(:\w+)?|glue(:\w+)?)\}")

#: Removed from a copy of the article before its prose is judged: code, cell outputs,
#: maths, the bibliography list, permalink signs.
NOT_PROSE = (
    "pre, code, .highlight, .cell_output, .output, .math, mjx-container, .MathJax, "
    "script, style, .bibliography, dl.citation, .citation, .headerlink"
)
PROSE_JS = f"""() => {{
    const article = document.querySelector('main article') || document.querySelector('main');
    const copy = article.cloneNode(true);
    copy.querySelectorAll({NOT_PROSE!r}).forEach(e => e.remove());
    const blocks = Array.from(
        copy.querySelectorAll('p, li, dt, dd, td, th, figcaption, caption, h1, h2, h3, h4, h5, h6')
    ).filter(b => !b.querySelector('p, li, dd, td'));
    return [copy.textContent, blocks.map(b => b.textContent)];
}}"""
#: The rendered text of the article with code listings hidden (as tests/test_site.py does)
TEXT_JS = """() => {
    const main = document.querySelector('main');
    main.querySelectorAll('pre, code, .highlight').forEach(e => e.style.display = 'none');
    return main.innerText;
}"""


def page_paths() -> list[str]:
    return [f"{docname}.html" for docname in toc_files()]


def cjk_share(text: str) -> float:
    """CJK characters over CJK characters plus Latin letters (0 for no text)."""
    cjk, latin = len(CJK.findall(text)), len(LATIN_LETTER.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def english_blocks(blocks: list[str]) -> list[str]:
    """The blocks of prose with no CJK character and many English words."""
    found = []
    for block in blocks:
        text = URL.sub(" ", CITATION.sub(" ", block))
        if not CJK.search(text) and len(LATIN_WORD.findall(text)) >= ENGLISH_WORDS_MAX:
            found.append(" ".join(block.split())[:100])
    return found


def prose(browser, url: str) -> tuple[str, list[str]]:
    page = open_page(browser, url)
    try:
        text, blocks = page.evaluate(PROSE_JS)
    finally:
        page.context.close()
    return text, blocks


def test_the_measures_tell_chinese_from_english():
    assert cjk_share("注意力是一种层") == 1.0
    assert cjk_share("Attention is a layer") == 0.0
    assert english_blocks(["Attention is a layer in which each position mixes the others."])
    assert not english_blocks(
        ["注意力是一种网络层（attention layer），每个位置都加权平均其他位置。"]
    )
    assert not english_blocks(["XGBoost [Chen and Guestrin, 2016], LightGBM [Ke et al., 2017]"])


@pytest.mark.book
def test_the_chinese_build_executed_no_notebook(build_log):
    log = ZH_BUILD_LOG.read_text(encoding="utf-8")
    executed = [line for line in log.splitlines() if re.search(r"Execut(ing|ed) notebook", line)]
    assert not executed, "the Chinese build executed notebooks:\n" + "\n".join(executed)
    assert "nothing executes" in log


@pytest.mark.parametrize("path", page_paths())
def test_every_chinese_page_renders(browser, site_url, path):
    page = open_page(browser, f"{site_url}/{LANGUAGE}/{path}")
    try:
        assert page.locator("main h1").count() >= 1, f"{path} has no title"
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        page.wait_for_timeout(300)  # let deferred scripts run
        assert not page.js_errors, f"{path}: {page.js_errors}"
        errors = page.locator("main .system-message, main .problematic").all_inner_texts()
        assert not errors, f"{path}: build errors rendered in the page: {errors}"
        text = page.evaluate(TEXT_JS)
        stars = [line for line in text.splitlines() if "**" in line]
        assert not stars, f"{path}: bold markers shown as text: {stars[:5]}"
        roles = [line for line in text.splitlines() if UNRENDERED_ROLE.search(line)]
        assert not roles, f"{path}: MyST roles shown as text: {roles[:5]}"
    finally:
        page.context.close()


@pytest.mark.parametrize("path", page_paths())
def test_every_chinese_page_is_in_chinese(browser, site_url, path):
    text, blocks = prose(browser, f"{site_url}/{LANGUAGE}/{path}")
    share = cjk_share(text)
    assert share >= CJK_SHARE_MIN, (
        f"{path}: only {share:.0%} of the prose is Chinese (at least {CJK_SHARE_MIN:.0%}); "
        f"English paragraphs: {english_blocks(blocks)[:5]}"
    )
    left = english_blocks(blocks)
    assert not left, f"{path}: {len(left)} paragraph(s) still in English: {left[:5]}"


@pytest.mark.parametrize("path", ["intro.html", "chapters/02_core_concepts.html"])
def test_an_english_page_would_fail_the_chinese_measures(browser, site_url, path):
    """The measures above fail a page left in English: the English site's own pages."""
    text, blocks = prose(browser, f"{site_url}/{path}")
    assert cjk_share(text) < CJK_SHARE_MIN
    assert english_blocks(blocks)


class SwitchLinks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and "course-language-link" in (attributes.get("class") or ""):
            self.links.append((attributes.get("hreflang", ""), attributes.get("href", "")))


def switch_links(page: Path) -> list[tuple[str, str]]:
    collector = SwitchLinks()
    collector.feed(page.read_text(encoding="utf-8", errors="replace"))
    return collector.links


def test_every_page_links_to_itself_in_the_other_language(build_log):
    """Every page of both sites (the search and index pages too) has the switch, and its
    link, relative, leads to the file of the same page in the other language."""

    def pages(root: Path) -> list[Path]:  # the theme's HTML snippets in _static are no pages
        return [p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts]

    english = [p for p in pages(HTML) if ZH_HTML not in p.parents]
    chinese = pages(ZH_HTML)
    assert len(chinese) == len(english) > 20
    wrong = []
    for page, other_root, expected_lang in [(p, ZH_HTML, "zh-CN") for p in english] + [
        (p, HTML, "en") for p in chinese
    ]:
        relative = page.relative_to(HTML if other_root == ZH_HTML else ZH_HTML)
        if page.name == "index.html" and page.parent in (HTML, ZH_HTML):
            continue  # the redirect to intro.html, not a Sphinx page
        links = switch_links(page)
        if [lang for lang, _ in links] != [expected_lang]:
            wrong.append(f"{page.relative_to(HTML)}: switch links {links}")
            continue
        target = (page.parent / links[0][1]).resolve()
        if target != (other_root / relative).resolve() or not target.is_file():
            wrong.append(f"{page.relative_to(HTML)} -> {links[0][1]}")
    assert not wrong, "\n".join(wrong[:30])


@pytest.mark.parametrize(
    "path", ["intro.html", "chapters/02_core_concepts.html", "labs/text_classification_torch.html"]
)
def test_the_switch_leads_to_the_same_page_and_back(browser, site_url, path):
    page = open_page(browser, f"{site_url}/{LANGUAGE}/{path}")
    try:
        page.locator("a.course-language-link[hreflang='en']").first.click()
        page.wait_for_url(f"{site_url}/{path}")
        assert page.evaluate("document.documentElement.lang") == "en"
        page.locator("a.course-language-link[hreflang='zh-CN']").first.click()
        page.wait_for_url(f"{site_url}/{LANGUAGE}/{path}")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()


def test_the_switch_works_from_files(browser, build_log):
    """The links are relative: the site works opened from the disk, without a server."""
    page = open_page(browser, (ZH_HTML / "chapters" / "01_background.html").as_uri())
    try:
        page.locator("a.course-language-link").first.click()
        page.wait_for_load_state("load")
        assert page.url == (HTML / "chapters" / "01_background.html").as_uri()
    finally:
        page.context.close()


def test_the_chinese_title_is_used(build_log):
    page = (ZH_HTML / "intro.html").read_text(encoding="utf-8")
    assert "AI 大模型：学习与进阶" in page
    assert "AI 大模型：学习与进阶" not in (HTML / "intro.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("term", ["注意力", "微调"])
def test_search_finds_a_chinese_term(browser, site_url, term):
    page = open_page(browser, f"{site_url}/{LANGUAGE}/search.html?q={quote(term)}")
    try:
        results = page.locator("ul.search li")
        results.first.wait_for(timeout=20_000)
        assert results.count() >= 1
        links = page.eval_on_selector_all("ul.search li a", "as => as.map(a => a.href)")
        assert all(f"/{LANGUAGE}/" in link for link in links), links[:5]
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()
