"""Tests for utils.plots: each function returns a Figure with the expected content."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from utils import plots  # noqa: E402

HISTORY = {
    "loss": [0.6, 0.4, 0.3, 0.2],
    "accuracy": [0.6, 0.8, 0.85, 0.9],
    "val_loss": [0.5, 0.45, 0.5, 0.6],
    "val_accuracy": [0.7, 0.75, 0.74, 0.73],
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_history_draws_training_and_validation_per_metric():
    figure = plots.plot_history(HISTORY, title="curves")
    assert isinstance(figure, Figure)
    axes = figure.get_axes()
    assert [axis.get_title() for axis in axes] == ["Loss", "Accuracy"]
    for axis, name in zip(axes, ("loss", "accuracy"), strict=True):
        curves = [line for line in axis.get_lines() if line.get_label() != "best epoch"]
        np.testing.assert_allclose(curves[0].get_ydata(), HISTORY[name])
        np.testing.assert_allclose(curves[1].get_ydata(), HISTORY[f"val_{name}"])
        np.testing.assert_array_equal(curves[0].get_xdata(), [1, 2, 3, 4])
        best = [line for line in axis.get_lines() if line.get_label() == "best epoch"]
        assert best and best[0].get_xdata()[0] == 2  # lowest validation loss: epoch 2
    assert figure.get_suptitle() == "curves"


def test_plot_history_without_validation_and_with_one_metric():
    figure = plots.plot_history({"loss": [1.0, 0.5]}, metrics=("loss",))
    (axis,) = figure.get_axes()
    assert len(axis.get_lines()) == 1


def test_plot_history_rejects_missing_or_empty_curves():
    with pytest.raises(ValueError, match="no \\['accuracy'\\]"):
        plots.plot_history({"loss": [1.0]})
    with pytest.raises(ValueError, match="non-empty"):
        plots.plot_history({"loss": []}, metrics=("loss",))
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_history(HISTORY, metrics=())


def test_plot_confusion_matrix_counts_and_normalises():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 0, 1, 1, 0])
    figure = plots.plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    axis = figure.get_axes()[0]
    counts = axis.get_images()[0].get_array()
    np.testing.assert_array_equal(counts, [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
    assert sorted(text.get_text() for text in axis.texts) == sorted("210020100")
    assert [label.get_text() for label in axis.get_yticklabels()] == ["a", "b", "c"]

    normalised = plots.plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"], normalize=True)
    fractions = normalised.get_axes()[0].get_images()[0].get_array()
    np.testing.assert_allclose(fractions.sum(axis=1), [1, 1, 1])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "names", "error"),
    [
        ([0, 1], [0], ["a", "b"], ValueError),
        ([0, 1], [0.2, 0.9], ["a", "b"], TypeError),
        ([0, 2], [0, 1], ["a", "b"], ValueError),
        ([0, 0], [0, 0], ["a"], ValueError),
    ],
)
def test_plot_confusion_matrix_rejects_bad_input(y_true, y_pred, names, error):
    with pytest.raises(error):
        plots.plot_confusion_matrix(np.asarray(y_true), np.asarray(y_pred), names)


def test_compare_histories_draws_one_line_per_run_and_metric():
    other = {key: [value + 0.01 for value in values] for key, values in HISTORY.items()}
    other["val_loss"] = other["val_loss"][:3]  # runs may stop after different epochs
    other["val_accuracy"] = other["val_accuracy"][:3]
    figure = plots.compare_histories({"first": HISTORY, "second": other}, title="runs")
    axes = figure.get_axes()
    assert [axis.get_title() for axis in axes] == ["Validation loss", "Validation accuracy"]
    for axis in axes:
        assert [line.get_label() for line in axis.get_lines()] == ["first", "second"]
        assert len(axis.get_lines()[1].get_xdata()) == 3
    with pytest.raises(ValueError, match="run 'bad'"):
        plots.compare_histories({"bad": {"loss": [1.0]}})
    with pytest.raises(ValueError, match="at least one run"):
        plots.compare_histories({})


def test_plot_length_distribution_reports_the_share_under_the_cutoff():
    lengths = np.array([1, 2, 2, 3, 10])
    figure = plots.plot_length_distribution(lengths, cutoff=3)
    axis = figure.get_axes()[0]
    heights = [patch.get_height() for patch in axis.patches]
    assert sum(heights) == len(lengths)
    assert "80.0% fit" in axis.get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError, match="non-negative integers"):
        plots.plot_length_distribution(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="cutoff"):
        plots.plot_length_distribution(lengths, cutoff=0)
