"""The book's local Sphinx extension: only buttons that lead somewhere are rendered."""

from __future__ import annotations

from pathlib import Path

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


def test_staging_copies_once_and_leaves_no_partial_copy(tmp_path):
    origin = tmp_path / "origin"
    (origin / "sub").mkdir(parents=True)
    (origin / "sub" / "a.js").write_text("a", encoding="utf-8")
    (tmp_path / "b.js").write_text("b", encoding="utf-8")
    target = tmp_path / "staging"
    course_html.stage(origin, target / "folder")
    course_html.stage(tmp_path / "b.js", target / "b.js")
    assert (target / "folder" / "sub" / "a.js").read_text(encoding="utf-8") == "a"
    assert (target / "b.js").read_text(encoding="utf-8") == "b"
    (origin / "sub" / "a.js").write_text("changed", encoding="utf-8")
    course_html.stage(origin, target / "folder")  # there already: left as it is
    assert (target / "folder" / "sub" / "a.js").read_text(encoding="utf-8") == "a"
    assert sorted(path.name for path in target.iterdir()) == ["b.js", "folder"]


def test_staging_beside_another_build_keeps_the_first_copy(tmp_path, monkeypatch):
    """Another build renames its copy into place between this build's copy and rename:
    this build's rename fails, its partial copy is removed, and the first copy stays."""
    import os

    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "a.js").write_text("mine", encoding="utf-8")
    destination = tmp_path / "staging" / "folder"
    rename = os.rename

    def other_build_first(source, target):
        Path(target).mkdir(parents=True)
        (Path(target) / "a.js").write_text("theirs", encoding="utf-8")
        (Path(target) / "b.js").write_text("theirs", encoding="utf-8")  # not empty
        rename(source, target)  # raises: a folder is not renamed over a full one

    monkeypatch.setattr(course_html.os, "rename", other_build_first)
    course_html.stage(origin, destination)
    assert (destination / "a.js").read_text(encoding="utf-8") == "theirs"
    assert [path.name for path in destination.parent.iterdir()] == ["folder"]
