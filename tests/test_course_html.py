"""The book's local Sphinx extension: only buttons that lead somewhere are rendered."""

from __future__ import annotations

import pytest
import yaml

from _ext import course_html
from tests.booktools import REPO_ROOT

BOOK_CONFIG = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
LAUNCH = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com"}


@pytest.mark.parametrize(
    "url", ["", None, "https://github.com/ailm-course/ai-large-models", "https://example.org/x"]
)
def test_without_a_real_repository_no_button_is_rendered(url):
    options = {"launch_buttons": dict(LAUNCH), "use_repository_button": True}
    if url is not None:
        options["repository_url"] = url
    assert course_html.configure_repository_buttons(options) is None
    assert "launch_buttons" not in options
    assert "repository_url" not in options
    assert not options["use_repository_button"] and not options["use_issues_button"]


def test_a_real_repository_gets_its_buttons():
    options = {"launch_buttons": dict(LAUNCH), "repository_url": "https://github.com/o/r"}
    assert course_html.configure_repository_buttons(options) == "https://github.com/o/r"
    assert options["launch_buttons"] == LAUNCH
    assert options["use_repository_button"] and options["use_issues_button"]


def test_a_placeholder_launch_service_is_refused():
    options = {
        "launch_buttons": {**LAUNCH, "jupyterhub_url": "https://jupyterhub.example.org"},
        "repository_url": "https://github.com/o/r",
    }
    with pytest.raises(ValueError, match="placeholder"):
        course_html.configure_repository_buttons(options)


def test_the_book_names_no_placeholder():
    url = str((BOOK_CONFIG.get("repository") or {}).get("url") or "")
    assert not course_html.is_placeholder(url), (
        f"repository.url in _config.yml is a placeholder ({url}); leave it empty until the "
        "course has a real public repository"
    )
    services = BOOK_CONFIG.get("launch_buttons") or {}
    assert not [v for v in services.values() if course_html.is_placeholder(str(v))], services


def test_the_readme_documents_the_repository_setting():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "repository.url" in readme and "_config.yml" in readme
