"""Tests for utils.tf_helpers on tiny synthetic data (mirrors tests/test_torch_helpers.py)."""

from __future__ import annotations

import numpy as np
import pytest

from utils import config

config.quiet_tensorflow()  # before TensorFlow is imported: no start-up notices

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils import tf_helpers  # noqa: E402

HISTORY_KEYS = {"loss", "accuracy", "val_loss", "val_accuracy"}


def separable(num_examples: int, num_classes: int = 2, seed: int = 0):
    """Points in 4-D whose class is the argmax of their first ``num_classes`` coordinates
    (for two classes: the sign of the first coordinate)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_examples, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) if num_classes == 2 else x[:, :num_classes].argmax(1)
    return x, y.astype(np.int64)


def linear_model(num_outputs: int = 1) -> keras.Model:
    tf_helpers.set_seed(0)
    activation = "sigmoid" if num_outputs == 1 else "softmax"
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(num_outputs, activation)])


def test_set_seed_makes_initialisation_repeatable():
    def kernel(seed):
        tf_helpers.set_seed(seed)
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).get_weights()[0]

    np.testing.assert_array_equal(kernel(3), kernel(3))
    assert not np.array_equal(kernel(3), kernel(4))


def test_get_device_returns_an_available_device():
    device = tf_helpers.get_device()
    assert device in {"/CPU:0", "/GPU:0"}
    with tf.device(device):
        tf.zeros(1)  # usable
    if not tf.config.list_physical_devices("GPU"):
        assert device == "/CPU:0"


def test_count_parameters_counts_weights_not_running_statistics():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()]
    )
    assert tf_helpers.count_parameters(model) == 3 * 2 + 2 + 2 + 2  # moving stats excluded
    model.layers[0].trainable = False
    assert tf_helpers.count_parameters(model, trainable_only=True) == 4
    assert tf_helpers.count_parameters(model) == 12
    with pytest.raises(TypeError, match="keras.Model"):
        tf_helpers.count_parameters("not a model")


def test_train_learns_a_binary_problem_and_returns_the_history():
    x, y = separable(256)
    x_val, y_val = separable(128, seed=1)
    model = linear_model()
    history = tf_helpers.train(
        model, (x, y), (x_val, y_val), epochs=5, batch_size=16, learning_rate=0.05, verbose=False
    )
    assert set(history) == HISTORY_KEYS
    assert all(len(values) == len(history["loss"]) for values in history.values())
    assert 1 <= len(history["loss"]) <= 5
    assert history["val_accuracy"][-1] > 0.9
    assert history["loss"][-1] < history["loss"][0]


def test_train_handles_several_classes_and_datasets():
    x, y = separable(300, num_classes=3)
    x_val, y_val = separable(150, num_classes=3, seed=1)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(30)
    model = linear_model(3)
    history = tf_helpers.train(
        model, dataset, (x_val, y_val), epochs=8, learning_rate=0.05, verbose=False
    )
    assert max(history["val_accuracy"]) > 0.8
    probabilities = tf_helpers.predict_proba(model, x_val)
    assert probabilities.shape == (150, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    predictions = tf_helpers.predict(model, x_val)
    assert predictions.dtype == np.int64
    np.testing.assert_array_equal(predictions, probabilities.argmax(axis=1))
    on_dataset = tf_helpers.evaluate(
        model, tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(40)
    )
    on_arrays = tf_helpers.evaluate(model, (x_val, y_val))
    assert on_dataset["loss"] == pytest.approx(on_arrays["loss"], rel=1e-5)
    assert on_dataset["accuracy"] == pytest.approx(on_arrays["accuracy"])


def test_early_stopping_stops_and_restores_the_best_weights():
    # The validation labels are the opposite of the training labels: the better the model
    # learns, the worse its validation loss, so the first epoch is the best one.
    x, y = separable(256)
    x_val, y_val = separable(128, seed=1)
    model = linear_model()
    history = tf_helpers.train(
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
    restored = tf_helpers.evaluate(model, (x_val, 1 - y_val))
    assert restored["loss"] == pytest.approx(min(history["val_loss"]), rel=1e-4)


def test_evaluate_agrees_with_predict():
    x, y = separable(200)
    model = linear_model()
    tf_helpers.train(model, (x, y), (x, y), epochs=3, learning_rate=0.05, verbose=False)
    scores = tf_helpers.evaluate(model, (x, y), batch_size=7)
    probabilities = tf_helpers.predict_proba(model, x)
    assert probabilities.shape == (200,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert scores["accuracy"] == pytest.approx(np.mean(tf_helpers.predict(model, x) == y))
    keras_loss = keras.losses.binary_crossentropy(y.astype(np.float32), probabilities)
    assert scores["loss"] == pytest.approx(float(np.mean(keras_loss)), rel=1e-4)


def test_save_and_load_round_trip(tmp_path):
    x, _ = separable(20)
    model = linear_model()
    path = tf_helpers.save_model(model, tmp_path / "sub" / "model.keras")
    assert path.exists()
    rebuilt = tf_helpers.load_model(path)  # a .keras file carries the architecture
    np.testing.assert_array_equal(
        tf_helpers.predict_proba(model, x), tf_helpers.predict_proba(rebuilt, x)
    )
    tf_helpers.set_seed(1)
    fresh = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, "sigmoid")])
    into_fresh = tf_helpers.load_model(path, fresh, device="/CPU:0")
    assert into_fresh is fresh
    np.testing.assert_array_equal(
        tf_helpers.predict_proba(model, x), tf_helpers.predict_proba(fresh, x)
    )


def test_save_and_load_reject_bad_arguments(tmp_path):
    model = linear_model()
    with pytest.raises(ValueError, match=".keras"):
        tf_helpers.save_model(model, tmp_path / "model.pt")
    with pytest.raises(ValueError, match=".keras"):
        tf_helpers.load_model(tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="save_model"):
        tf_helpers.load_model(tmp_path / "missing.keras", model)


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
        tf_helpers.train(linear_model(), train_data, (x_val, y_val), verbose=False)


@pytest.mark.parametrize(
    "settings", [{"epochs": 0}, {"batch_size": 0}, {"patience": -1}, {"learning_rate": 0.0}]
)
def test_train_rejects_bad_settings(settings):
    x, y = separable(8)
    with pytest.raises(ValueError, match=next(iter(settings))):
        tf_helpers.train(linear_model(), (x, y), (x, y), verbose=False, **settings)
