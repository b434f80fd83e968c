"""The book builds warning-free with ``-W -n`` (nitpicky, warnings are errors).

The build itself is the session fixture ``build_log`` (tests/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from tests.booktools import HTML, REPO_ROOT, executable_sources

# Lines TensorFlow prints at start-up when TF_CPP_MIN_LOG_LEVEL / TF_ENABLE_ONEDNN_OPTS
# are not set before it is imported; none may reach a rendered page.
TF_NOISE = ("oneDNN custom operations", "cpu_feature_guard", "This TensorFlow binary is optimized")


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


@pytest.mark.book
@pytest.mark.slow
def test_launch_buttons_use_the_configured_repository(build_log):
    import yaml

    url = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())["repository"]["url"]
    slug = url.rstrip("/").split("github.com/")[1]
    page = (HTML / "labs" / "setup_check.html").read_text(encoding="utf-8")
    assert f"mybinder.org/v2/gh/{slug}/main" in page
    assert f"colab.research.google.com/github/{slug}/blob/main/labs/setup_check" in page
