"""Tests for utils.torch_helpers on tiny synthetic data (a few seconds on a CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils import torch_helpers

HISTORY_KEYS = {"loss", "accuracy", "val_loss", "val_accuracy"}


def separable(num_examples: int, num_classes: int = 2, seed: int = 0):
    """Points in 4-D whose class is the argmax of their first ``num_classes`` coordinates
    (for two classes: the sign of the first coordinate)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_examples, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) if num_classes == 2 else x[:, :num_classes].argmax(1)
    return x, y.astype(np.int64)


def linear_model(num_outputs: int = 1) -> nn.Module:
    torch_helpers.set_seed(0)
    return nn.Linear(4, num_outputs)


def test_set_seed_makes_initialisation_repeatable():
    torch_helpers.set_seed(3)
    first = nn.Linear(4, 3).weight.detach().clone()
    torch_helpers.set_seed(3)
    second = nn.Linear(4, 3).weight.detach().clone()
    torch_helpers.set_seed(4)
    third = nn.Linear(4, 3).weight.detach().clone()
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def test_get_device_returns_an_available_device():
    device = torch_helpers.get_device()
    assert isinstance(device, torch.device)
    torch.zeros(1, device=device)  # usable
    if not torch.cuda.is_available():
        assert device.type in {"cpu", "mps"}


def test_count_parameters_counts_weights_not_buffers():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    assert torch_helpers.count_parameters(model) == 3 * 2 + 2 + 2 + 2  # running stats excluded
    model[0].requires_grad_(False)
    assert torch_helpers.count_parameters(model, trainable_only=True) == 4
    assert torch_helpers.count_parameters(model) == 12
    with pytest.raises(TypeError, match="torch.nn.Module"):
        torch_helpers.count_parameters("not a model")


def test_train_learns_a_binary_problem_and_returns_the_history():
    x, y = separable(256)
    x_val, y_val = separable(128, seed=1)
    model = linear_model()
    history = torch_helpers.train(
        model, (x, y), (x_val, y_val), epochs=5, batch_size=16, learning_rate=0.05, verbose=False
    )
    assert set(history) == HISTORY_KEYS
    assert all(len(values) == len(history["loss"]) for values in history.values())
    assert 1 <= len(history["loss"]) <= 5
    assert history["val_accuracy"][-1] > 0.9
    assert history["loss"][-1] < history["loss"][0]


def test_train_handles_several_classes_and_data_loaders():
    x, y = separable(300, num_classes=3)
    x_val, y_val = separable(150, num_classes=3, seed=1)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=30)
    model = linear_model(3)
    history = torch_helpers.train(
        model, loader, (x_val, y_val), epochs=8, learning_rate=0.05, verbose=False
    )
    assert max(history["val_accuracy"]) > 0.8
    probabilities = torch_helpers.predict_proba(model, x_val)
    assert probabilities.shape == (150, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    predictions = torch_helpers.predict(model, x_val)
    assert predictions.dtype == np.int64
    np.testing.assert_array_equal(predictions, probabilities.argmax(axis=1))


def test_early_stopping_stops_and_restores_the_best_weights():
    # The validation labels are the opposite of the training labels: the better the model
    # learns, the worse its validation loss, so the first epoch is the best one.
    x, y = separable(256)
    x_val, y_val = separable(128, seed=1)
    model = linear_model()
    history = torch_helpers.train(
        model,
        (x, y),
        (x_val, 1 - y_val),
        epochs=10,
        learning_rate=0.05,
        patience=2,
        verbose=False,
    )
    assert int(np.argmin(history["val_loss"])) == 0
    assert len(history["loss"]) == 3  # the best epoch, then `patience` epochs without progress
    restored = torch_helpers.evaluate(model, (x_val, 1 - y_val))
    assert restored["loss"] == pytest.approx(min(history["val_loss"]), rel=1e-5)


def test_evaluate_agrees_with_predict():
    x, y = separable(200)
    model = linear_model()
    torch_helpers.train(model, (x, y), (x, y), epochs=3, learning_rate=0.05, verbose=False)
    scores = torch_helpers.evaluate(model, (x, y), batch_size=7)
    probabilities = torch_helpers.predict_proba(model, x)
    assert probabilities.shape == (200,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert scores["accuracy"] == pytest.approx(np.mean(torch_helpers.predict(model, x) == y))
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    expected_loss = -np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    assert scores["loss"] == pytest.approx(expected_loss, rel=1e-4)


def test_save_and_load_round_trip(tmp_path):
    x, _ = separable(20)
    model = linear_model()
    path = torch_helpers.save_model(model, tmp_path / "sub" / "model.pt")
    assert path.exists()
    torch_helpers.set_seed(1)
    reloaded = torch_helpers.load_model(path, nn.Linear(4, 1), device="cpu")
    assert not reloaded.training  # returned in eval mode
    np.testing.assert_array_equal(
        torch_helpers.predict_proba(model, x), torch_helpers.predict_proba(reloaded, x)
    )


def test_save_and_load_reject_bad_arguments(tmp_path):
    model = linear_model()
    with pytest.raises(ValueError, match=".pt"):
        torch_helpers.save_model(model, tmp_path / "model.keras")
    with pytest.raises(TypeError, match="model is required"):
        torch_helpers.load_model(tmp_path / "model.pt")
    with pytest.raises(FileNotFoundError, match="save_model"):
        torch_helpers.load_model(tmp_path / "missing.pt", model)


@pytest.mark.parametrize(
    ("train_data", "error", "match"),
    [
        ((np.zeros((4, 4), np.float32), np.zeros(3, np.int64)), ValueError, "shape"),
        ((np.zeros((4, 4), np.float32), np.zeros(4, np.float32)), TypeError, "integer"),
        (np.zeros((4, 4)), TypeError, "tuple"),
    ],
)
def test_train_rejects_malformed_data(train_data, error, match):
    x_val, y_val = separable(8)
    with pytest.raises(error, match=match):
        torch_helpers.train(linear_model(), train_data, (x_val, y_val), verbose=False)


@pytest.mark.parametrize(
    "settings", [{"epochs": 0}, {"batch_size": 0}, {"patience": -1}, {"learning_rate": 0.0}]
)
def test_train_rejects_bad_settings(settings):
    x, y = separable(8)
    with pytest.raises(ValueError, match=next(iter(settings))):
        torch_helpers.train(linear_model(), (x, y), (x, y), verbose=False, **settings)
