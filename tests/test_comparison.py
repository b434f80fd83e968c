"""The framework comparison page: every registered pair of twins, real tables, a hard gap target."""

from __future__ import annotations

import matplotlib
import pytest

from tests.booktools import REPO_ROOT, read_source
from utils import config, results

PAGE = REPO_ROOT / "reports" / "framework_comparison.md"


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RESULTS_DIR_ENV, str(tmp_path))
    return tmp_path


def record_twins(task: str, tf_accuracy: float, torch_accuracy: float, fingerprints=("a", "a")):
    tf_lab, torch_lab = results.TWINS[task]
    for lab, framework, accuracy, fingerprint in (
        (tf_lab, "tensorflow", tf_accuracy, fingerprints[0]),
        (torch_lab, "pytorch", torch_accuracy, fingerprints[1]),
    ):
        results.record(
            lab,
            framework,
            test_accuracy=accuracy,
            train_seconds=12.5,
            split_fingerprint=fingerprint,
            versions={framework: "1.0"},
        )


def test_twins_within_the_target_pass():
    record_twins("text", 0.781, 0.770)
    check = results.twin_check("text")
    assert check["same_data"] is True
    assert check["gap"] == pytest.approx(0.011)
    assert check["target"] == results.GAP_TARGETS["text"]


def test_a_gap_beyond_the_target_fails():
    record_twins("image", 0.91, 0.91 - results.GAP_TARGETS["image"] - 0.005)
    with pytest.raises(ValueError, match="more than the course's target"):
        results.twin_check("image")


def test_twins_on_different_splits_fail():
    record_twins("text", 0.78, 0.78, fingerprints=("a", "b"))
    with pytest.raises(ValueError, match="different data splits"):
        results.twin_check("text")


def test_a_missing_twin_fails():
    results.record(results.TWINS["text"][0], "tensorflow", test_accuracy=0.8)
    with pytest.raises(FileNotFoundError, match=results.TWINS["text"][1]):
        results.twin_check("text")


def test_a_twin_without_its_accuracy_fails():
    for lab, framework in zip(results.TWINS["text"], ("tensorflow", "pytorch"), strict=True):
        results.record(lab, framework, split_fingerprint="a")
    with pytest.raises(KeyError, match="test_accuracy"):
        results.twin_check("text")


def test_an_unregistered_task_takes_the_default_target(monkeypatch):
    monkeypatch.setitem(results.TWINS, "speech", ("speech_tf", "speech_torch"))
    record_twins("speech", 0.80, 0.80 - results.DEFAULT_GAP_TARGET / 2)
    assert results.twin_check("speech")["target"] == results.DEFAULT_GAP_TARGET


def test_the_markdown_table_is_a_table():
    record_twins("text", 0.781, 0.770)
    lines = results.comparison_markdown("text").splitlines()
    assert lines[0] == "| figure | TensorFlow (Keras 3) | PyTorch |"
    assert lines[1] == "| --- | --- | --- |"
    assert "| test accuracy | 0.781 | 0.770 |" in lines
    assert all(line.count("|") == 4 for line in lines)  # no cell breaks the columns


def run_page(monkeypatch) -> list[str]:
    """Execute the page's code cells; return the Markdown they display."""
    import IPython.display

    matplotlib.use("Agg")
    shown: list[str] = []
    monkeypatch.setattr(
        IPython.display, "display", lambda *objects: shown.extend(o.data for o in objects)
    )
    namespace: dict = {}
    for cell in read_source(PAGE).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, str(PAGE), "exec"), namespace)  # noqa: S102
    return shown


def test_the_page_shows_every_registered_pair(monkeypatch):
    monkeypatch.setitem(results.TWINS, "speech", ("speech_tf", "speech_torch"))
    for task in results.TWINS:
        record_twins(task, 0.80, 0.79)
    shown = "\n".join(run_page(monkeypatch))
    for task, (tf_lab, torch_lab) in results.TWINS.items():
        assert f"`{tf_lab}` and `{torch_lab}`" in shown, task
    rule = "| --- | --- | --- |"
    comparison_rules = [line for line in shown.splitlines() if line.strip() == rule]
    assert len(comparison_rules) == len(results.TWINS)  # one three-column table per pair


def test_the_page_fails_when_a_registered_twin_is_missing(monkeypatch):
    real_pairs = list(results.TWINS)
    monkeypatch.setitem(results.TWINS, "speech", ("speech_tf", "speech_torch"))
    for task in real_pairs:  # every pair the course registers has recorded; speech has not
        record_twins(task, 0.80, 0.79)
    with pytest.raises(FileNotFoundError, match="speech"):
        run_page(monkeypatch)


def test_the_page_fails_when_a_gap_is_too_large(monkeypatch):
    record_twins("text", 0.80, 0.70)
    record_twins("image", 0.90, 0.90)
    with pytest.raises(ValueError, match="text twins"):
        run_page(monkeypatch)
