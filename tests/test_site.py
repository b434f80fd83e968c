"""The built site as a reader meets it, in headless Chromium (Debian's, no download).

The site is served on a loopback port; every request to another host is blocked,
so these tests never depend on the network (MathJax, which the theme loads from a
CDN, simply does not load here). Screenshots land in ``_build/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from tests.booktools import HTML, REPO_ROOT, toc_files

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def page_paths() -> list[str]:
    """The HTML page of every TOC entry (the landing page is the TOC's root)."""
    return [f"{docname}.html" for docname in toc_files()]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail(
            "Chromium is not installed: sudo apt-get install chromium chromium-driver "
            "(.ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, color_scheme: str = "light"):
    """A new page that records JavaScript errors and may only talk to the local server."""
    context = browser.new_context(
        color_scheme=color_scheme, viewport={"width": 1280, "height": 900}
    )
    local = urlparse(url).netloc

    def only_local(route):
        if urlparse(route.request.url).netloc == local:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    page.goto(url, wait_until="load")
    return page


@pytest.mark.parametrize("path", page_paths())
def test_page_renders_without_javascript_errors(browser, site_url, path):
    page = open_page(browser, f"{site_url}/{path}")
    try:
        assert page.locator("main h1").count() >= 1, f"{path} has no title"
        page.wait_for_timeout(300)  # let deferred scripts run
        assert not page.js_errors, f"{path}: {page.js_errors}"
    finally:
        page.context.close()


@pytest.mark.parametrize("path", page_paths())
def test_every_image_has_alt_text(browser, site_url, path):
    page = open_page(browser, f"{site_url}/{path}")
    try:
        images = page.eval_on_selector_all(
            "main img", "imgs => imgs.map(i => [i.getAttribute('src'), i.getAttribute('alt')])"
        )
        missing = [src for src, alt in images if not (alt or "").strip()]
        assert not missing, f"{path}: images without alt text: {missing}"
    finally:
        page.context.close()


#: Markdown table syntax that leaked into a page as text: a header rule such as
#: "| --- | --- |" or "|---|:---:|" on a line of its own
RAW_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.MULTILINE)


def raw_table_lines(text: str) -> list[str]:
    """Lines of rendered text that are Markdown table rules, i.e. a table that did not render."""
    return [match.group(0).strip() for match in RAW_TABLE_RULE.finditer(text)]


def test_raw_table_rules_are_recognised():
    assert raw_table_lines("intro\n| figure | TF |\n| --- | --- |\n| a | b |")
    assert raw_table_lines("|---|:---:|")
    assert not raw_table_lines("a range 1 --- 2, and a | pipe")


@pytest.mark.parametrize("path", page_paths())
def test_tables_and_figures_render(browser, site_url, path):
    """No table shows as raw Markdown, every table has rows and cells, every image loads."""
    page = open_page(browser, f"{site_url}/{path}")
    try:
        page.wait_for_load_state("load")
        # code listings may show table syntax on purpose; judge only the rendered text
        # (hidden in the live page, not removed from a detached copy: innerText of a
        # detached node ignores layout, so line breaks such as <br> would be lost)
        text = page.evaluate(
            """() => {
                const main = document.querySelector('main');
                const code = main.querySelectorAll('pre, code, .highlight');
                code.forEach(e => e.style.display = 'none');
                return main.innerText;
            }"""
        )
        assert not raw_table_lines(text), (
            f"{path}: tables shown as raw text: {raw_table_lines(text)}"
        )
        tables = page.eval_on_selector_all(
            "main table",
            """tables => tables.map(t => [
                t.rows.length,
                Math.max(0, ...Array.from(t.rows).map(r => r.cells.length)),
                t.getBoundingClientRect().height,
            ])""",
        )
        broken = [shape for shape in tables if shape[0] < 2 or shape[1] < 2 or shape[2] <= 0]
        assert not broken, f"{path}: empty or invisible tables (rows, columns, height): {broken}"
        images = page.eval_on_selector_all(
            "main img",
            "imgs => imgs.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])",
        )
        unloaded = [src for src, loaded in images if not loaded]
        assert not unloaded, f"{path}: images that do not load: {unloaded}"
        figures = page.eval_on_selector_all(
            "main figure", "figures => figures.map(f => f.querySelectorAll('img, svg').length)"
        )
        assert all(figures), f"{path}: a figure without an image"
    finally:
        page.context.close()


def test_the_site_root_leads_to_the_landing_page(browser, site_url):
    page = open_page(browser, f"{site_url}/index.html")
    try:
        page.wait_for_url("**/intro.html", timeout=10_000)
        assert page.locator("main h1").count() >= 1
    finally:
        page.context.close()


def test_search_finds_a_term(browser, site_url):
    page = open_page(browser, f"{site_url}/search.html?q=gradient")
    try:
        results = page.locator("ul.search li")
        results.first.wait_for(timeout=20_000)
        assert results.count() >= 1
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()


def test_a_pytorch_tab_switches_every_synced_tab(browser, site_url):
    page = open_page(browser, f"{site_url}/chapters/04_best_practices.html")
    # sphinx-design marks each tab's <label> with its sync id; the <input> it labels
    # carries the checked state
    selector = "label[data-sync-group='framework'][data-sync-id='pytorch']"
    checked = "labels => labels.map(l => document.getElementById(l.htmlFor).checked)"
    try:
        labels = page.locator(selector)
        assert labels.count() >= 2, "chapter 4 should show several synced framework tabs"
        assert not any(page.eval_on_selector_all(selector, checked)), (
            "TensorFlow should be the default tab"
        )
        labels.first.click()
        states = page.eval_on_selector_all(selector, checked)
        assert all(states), f"only some PyTorch tabs switched: {states}"
        assert not page.js_errors, page.js_errors
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "chapter4-pytorch-tabs.png"))
    finally:
        page.context.close()


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: str, background: str) -> float:
    def parse(css: str) -> tuple[float, float, float]:
        numbers = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
        return numbers[0], numbers[1], numbers[2]

    lighter, darker = sorted(
        (relative_luminance(parse(foreground)), relative_luminance(parse(background))), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize(
    "path", ["intro.html", "chapters/02_core_concepts.html", "labs/setup_check.html"]
)
def test_pages_are_readable_and_screenshotted(browser, site_url, path, color_scheme):
    page = open_page(browser, f"{site_url}/{path}", color_scheme=color_scheme)
    try:
        theme = page.evaluate("document.documentElement.dataset.theme")
        assert theme == color_scheme
        text, background = page.evaluate(
            """() => {
                const p = document.querySelector('main p');
                return [getComputedStyle(p).color, getComputedStyle(document.body).backgroundColor];
            }"""
        )
        ratio = contrast(text, background)
        assert ratio >= 4.5, (
            f"{path} in {color_scheme} mode: text contrast {ratio:.1f} < 4.5 (WCAG AA)"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = path.replace("/", "-").removesuffix(".html")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{color_scheme}.png"), full_page=False)
    finally:
        page.context.close()


class LinkCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def parse(page: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(page.read_text(encoding="utf-8", errors="replace"))
    return collector


def test_no_internal_link_is_broken(build_log):
    pages = {page: parse(page) for page in HTML.rglob("*.html")}
    broken = []
    for page, collected in pages.items():
        base = "file://" + str(page)
        for href in collected.links:
            target = urlparse(urljoin(base, href))
            if target.scheme != "file":
                continue  # external links are not checked: the suite stays offline
            path = Path(unquote(target.path))
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(HTML)} -> {href}")
            elif target.fragment and path.suffix == ".html":
                anchors = pages[path].ids if path in pages else parse(path).ids
                if unquote(target.fragment) not in anchors:
                    broken.append(f"{page.relative_to(HTML)} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken[:50])
