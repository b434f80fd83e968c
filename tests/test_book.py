"""The book builds warning-free with ``-W -n`` (nitpicky, warnings are errors).

The build itself is the session fixture ``build_log`` (tests/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from _ext import course_html
from tests.booktools import HTML, REPO_ROOT, executable_sources

# Lines TensorFlow prints at start-up (see utils.native_stderr and config.quiet_tensorflow);
# none may reach a rendered page.
TF_NOISE = (
    "oneDNN custom operations",
    "absl::InitializeLog",
    "DT_BOOL",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized",
)


@pytest.mark.book
@pytest.mark.slow
def test_book_builds_without_warnings(build_log):
    warnings = [line for line in build_log.splitlines() if re.search(r"WARNING|ERROR", line)]
    # the kernel's own notice about its TCP transport is not a Sphinx warning
    warnings = [line for line in warnings if "Kernel is running over TCP" not in line]
    assert not warnings, "\n".join(warnings)
    assert (HTML / "index.html").is_file()


@pytest.mark.book
@pytest.mark.slow
def test_tensorflow_start_up_noise_is_not_rendered(build_log):
    pages = list(HTML.rglob("*.html"))
    assert pages
    noisy = [
        str(page.relative_to(HTML))
        for page in pages
        if any(noise in page.read_text(encoding="utf-8", errors="replace") for noise in TF_NOISE)
    ]
    assert not noisy, f"TensorFlow start-up lines rendered on: {noisy}"


@pytest.mark.book
@pytest.mark.slow
def test_every_executed_page_offers_an_ipynb_download(build_log):
    for source in executable_sources():
        docname = source.relative_to(REPO_ROOT).with_suffix("")
        assert (HTML / "_sources" / f"{docname}.ipynb").is_file(), docname
        page = (HTML / f"{docname}.html").read_text(encoding="utf-8")
        assert f"{docname.name}.ipynb" in page, f"{docname}.html lacks the .ipynb download"


def configured_repository() -> str:
    import yaml

    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    return str((config.get("repository") or {}).get("url") or "")


@pytest.mark.book
@pytest.mark.slow
def test_launch_buttons_follow_the_repository_setting(build_log):
    url = configured_repository()
    page = (HTML / "labs" / "setup_check.html").read_text(encoding="utf-8")
    if url and not course_html.is_placeholder(url):
        slug = url.rstrip("/").split("github.com/")[1]
        assert f"mybinder.org/v2/gh/{slug}/main" in page
        assert f"colab.research.google.com/github/{slug}/blob/main/labs/setup_check" in page
    else:  # no repository: no button may lead anywhere
        assert "mybinder.org" not in page
        assert "colab.research.google.com" not in page
        assert "Source repository" not in page and "Open an issue" not in page


#: hrefs (and srcs) that only stand in for a real address
PLACEHOLDER = re.compile(
    r"""(?:href|src)=["'][^"']*(?:"""
    + "|".join(re.escape(marker) for marker in course_html.PLACEHOLDER_MARKERS)
    + r""")[^"']*["']""",
    re.IGNORECASE,
)


def placeholder_links(html: str) -> list[str]:
    """Every link or source in ``html`` that points at a placeholder address."""
    return PLACEHOLDER.findall(html)


def test_placeholder_links_are_recognised():
    assert placeholder_links('<a href="https://jupyterhub.example.org/hub">x</a>')
    assert placeholder_links("<a href='https://github.com/ailm-course/ai-large-models'>")
    assert not placeholder_links('<a href="https://github.com/keras-team/keras">x</a>')


@pytest.mark.book
@pytest.mark.slow
def test_no_rendered_link_points_at_a_placeholder(build_log):
    found = {
        str(page.relative_to(HTML)): links
        for page in HTML.rglob("*.html")
        if (links := placeholder_links(page.read_text(encoding="utf-8", errors="replace")))
    }
    assert not found, f"links to placeholder addresses: {found}"
