from __future__ import annotations

import json

import pytest

from utils import config, results


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv(config.RESULTS_DIR_ENV, str(tmp_path))
    return tmp_path


def test_record_then_load_round_trips(results_in_tmp):
    path = results.record("text_classification_tf", "tensorflow", test_accuracy=0.8, parameters=10)
    assert path == results_in_tmp / "text_classification_tf.json"
    loaded = results.load_results("text_classification_tf")
    assert loaded["framework"] == "tensorflow"
    assert loaded["figures"] == {"test_accuracy": 0.8, "parameters": 10}
    assert json.loads(path.read_text())["lab"] == "text_classification_tf"


def test_record_rejects_an_unknown_framework():
    with pytest.raises(ValueError, match="framework"):
        results.record("lab", "jax", test_accuracy=1.0)


def test_record_rejects_a_path_as_lab_name():
    with pytest.raises(ValueError, match="lab"):
        results.record("../escape", "pytorch")


def test_record_rejects_values_json_cannot_hold():
    with pytest.raises(TypeError, match="JSON"):
        results.record("lab", "pytorch", model=object())


def test_missing_results_say_how_to_make_them():
    with pytest.raises(FileNotFoundError, match="run the lab first"):
        results.load_results("image_classification_torch")


def _record_twins(task: str, tf_accuracy: float, torch_accuracy: float, fingerprint="abc123"):
    tf_lab, torch_lab = results.TWINS[task]
    for lab, framework, accuracy in (
        (tf_lab, "tensorflow", tf_accuracy),
        (torch_lab, "pytorch", torch_accuracy),
    ):
        results.record(
            lab,
            framework,
            test_accuracy=accuracy,
            parameters=674_369,
            split_fingerprint=fingerprint,
            versions={framework: "1.0"},
        )


def test_comparison_rows_show_both_twins_side_by_side():
    _record_twins("text", 0.781, 0.7665)
    rows = {label: (tf, torch) for label, tf, torch in results.comparison_rows("text")}
    assert rows["test accuracy"] == ("0.781", "0.766")
    assert rows["trainable parameters"] == ("674,369", "674,369")
    assert rows["data split fingerprint"] == ("abc123", "abc123")
    assert rows["F1 (test)"] == ("(not recorded)", "(not recorded)")
    assert rows["library versions"] == ("tensorflow 1.0", "pytorch 1.0")


def test_twin_results_fail_when_one_twin_is_missing():
    results.record("image_classification_tf", "tensorflow", test_accuracy=0.9)
    with pytest.raises(FileNotFoundError, match="image_classification_torch"):
        results.twin_results("image")


def test_twin_results_reject_an_unknown_task():
    with pytest.raises(ValueError, match="task"):
        results.twin_results("audio")


@pytest.mark.parametrize(
    ("value", "shown"), [(0.78123, "0.781"), (41.26, "41.3"), (4_650_000, "4,650,000"), ("x", "x")]
)
def test_format_figure(value, shown):
    assert results.format_figure(value) == shown


def test_record_and_compare_prints_the_twin_difference(capsys):
    results.record(
        "text_classification_torch", "pytorch", test_accuracy=0.75, split_fingerprint="ab"
    )
    twin = results.record_and_compare(
        "text_classification_tf",
        "tensorflow",
        test_accuracy=0.8,
        split_fingerprint="ab",
        wall_seconds=61.6,
    )
    assert twin["test_accuracy"] == 0.75
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("recorded ") and out[0].endswith("text_classification_tf.json")
    assert out[1] == "PyTorch twin: test accuracy 0.750 (difference +0.050; same split: True)"
    assert out[2] == "wall time of this lab: 62 s"
    assert results.load_results("text_classification_tf")["figures"]["test_accuracy"] == 0.8


def test_record_and_compare_without_the_twin(capsys):
    assert results.record_and_compare("image_classification_torch", "pytorch", f1=0.5) is None
    assert capsys.readouterr().out.splitlines()[1] == (
        "the Keras twin has not recorded results yet"
    )


def test_record_leaves_no_temporary_file(tmp_path):
    results.record("text_classification_tf", "tensorflow", test_accuracy=0.8)
    assert [path.name for path in config.results_dir().iterdir()] == ["text_classification_tf.json"]


def test_recorded_file_has_the_usual_mode(tmp_path, monkeypatch):
    """Atomic writes go through mkstemp (mode 0600); the result must be readable as usual."""
    import os

    monkeypatch.setenv("AILM_RESULTS_DIR", str(tmp_path))
    old_umask = os.umask(0o022)
    try:
        path = results.record("text_classification_tf", "tensorflow", test_accuracy=0.5)
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o644
