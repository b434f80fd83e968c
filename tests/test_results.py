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
