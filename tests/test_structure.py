"""The book's structure: TOC <-> files, pins <-> environment.yml, no tracked notebooks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.booktools import REPO_ROOT, executable_sources, resolve_source, toc_files

SOURCE_FOLDERS = ("chapters", "labs", "reports")


def test_every_toc_entry_exists():
    for docname in toc_files():
        assert resolve_source(docname).is_file()


def test_toc_has_no_duplicates():
    entries = toc_files()
    duplicates = sorted({entry for entry in entries if entries.count(entry) > 1})
    assert not duplicates, f"_toc.yml lists these more than once: {duplicates}"


@pytest.mark.parametrize("folder", SOURCE_FOLDERS)
def test_every_source_file_is_in_the_toc(folder):
    listed = set(toc_files())
    sources = [p for p in (REPO_ROOT / folder).iterdir() if p.suffix in {".md", ".py"}]
    assert sources, f"{folder}/ holds no sources"
    missing = [
        str(p.relative_to(REPO_ROOT))
        for p in sources
        if str(p.relative_to(REPO_ROOT).with_suffix("")) not in listed
    ]
    assert not missing, f"add these to _toc.yml (or delete them): {missing}"


def test_every_lab_is_executed_by_the_test_suite():
    executed = {p.relative_to(REPO_ROOT).as_posix() for p in executable_sources()}
    labs = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "labs").glob("*.py")}
    assert labs <= executed, f"labs not executed by nbval: {sorted(labs - executed)}"


def test_executed_notebooks_lie_under_pytest_testpaths():
    import tomllib

    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    testpaths = pyproject["tool"]["pytest"]["ini_options"]["testpaths"]
    for source in executable_sources():
        relative = source.relative_to(REPO_ROOT).as_posix()
        assert any(relative == p or relative.startswith(p.rstrip("/") + "/") for p in testpaths), (
            f"{relative} is executed by the book but pytest never collects it: "
            "add its folder to testpaths in pyproject.toml"
        )


def test_labs_are_py_percent_with_a_python3_kernel():
    for lab in (REPO_ROOT / "labs").glob("*.py"):
        head = lab.read_text(encoding="utf-8")[:600]
        assert "format_name: percent" in head, f"{lab.name} lacks the jupytext py:percent header"
        assert "name: python3" in head, f"{lab.name} does not name the python3 kernel"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^;\s]+)(\s*;.*)?", line)
        assert match, f"{path.name}: every requirement is pinned with ==, not {line!r}"
        pins[match.group(1).lower()] = match.group(2)
    return pins


def test_requirements_are_all_pinned():
    pins = _pins(REPO_ROOT / "requirements.txt")
    assert pins["jupyter-book"].startswith("1."), "the course is a Jupyter Book 1.x"
    assert pins["torch"] == "2.13.0"
    _pins(REPO_ROOT / "requirements-nodeps.txt")


def test_environment_yml_installs_the_pip_pins():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    dependencies = env["dependencies"]
    python = next(d for d in dependencies if isinstance(d, str) and d.startswith("python"))
    major_minor = tuple(int(x) for x in python.split("=")[1].split(".")[:2])
    assert (3, 10) <= major_minor <= (3, 13), "TensorFlow 2.21 has wheels for 3.10-3.13 only"
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section, "environment.yml must install requirements.txt"
    # any package pinned directly in environment.yml must carry the same pin as requirements.txt
    pins = _pins(REPO_ROOT / "requirements.txt")
    for entry in pip_section:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", entry)
        if match:
            assert pins.get(match.group(1).lower()) == match.group(2), entry
    postbuild = (REPO_ROOT / "postBuild").read_text(encoding="utf-8")
    assert "requirements-nodeps.txt" in postbuild


def test_no_notebook_is_tracked():
    tracked = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not tracked, f"notebooks are generated from the jupytext sources; untrack {tracked}"


@pytest.mark.parametrize("folder", SOURCE_FOLDERS)
def test_no_notebook_beside_the_sources(folder):
    stray = sorted(str(p) for p in (REPO_ROOT / folder).rglob("*.ipynb"))
    assert not stray, f"the book would find two files for one document: {stray}"
