"""Tests for the image-classification helpers appended to utils.plots, utils.tf_helpers and
utils.torch_helpers (synthetic data, a few seconds on a CPU)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from utils import config, plots  # noqa: E402

config.quiet_tensorflow()  # before any test imports TensorFlow

CLASS_NAMES = ("zero", "one", "two")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def grey_images(count: int = 5) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


# --- plots.image_grid ------------------------------------------------------------------


def test_image_grid_draws_every_image_with_its_caption_and_hides_spare_axes():
    images = grey_images(5)
    titles = [f"image {i}" for i in range(5)]
    figure = plots.image_grid(images, titles=titles, ncols=3, title="five")
    assert isinstance(figure, Figure)
    axes = figure.get_axes()
    assert len(axes) == 6  # two rows of three
    drawn = [axis for axis in axes if axis.get_images()]
    assert len(drawn) == 5
    assert [axis.get_title() for axis in drawn] == titles
    np.testing.assert_array_equal(drawn[2].get_images()[0].get_array(), images[2])
    assert drawn[0].get_images()[0].get_clim() == (0, 255)  # not stretched per image
    assert figure._suptitle.get_text() == "five"


def test_image_grid_colours_captions_and_accepts_rgb_and_channel_axis():
    rgb = np.zeros((2, 8, 8, 3), dtype=np.float32)
    figure = plots.image_grid(rgb, titles=["a", "b"], title_colors=["tab:red", "tab:green"])
    colours = [axis.title.get_color() for axis in figure.get_axes()]
    assert colours == ["tab:red", "tab:green"]
    single_channel = grey_images(2)[..., None]
    figure = plots.image_grid(single_channel)
    assert figure.get_axes()[0].get_images()[0].get_array().shape == (28, 28)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"images": np.zeros((28, 28))}, "shape"),
        ({"images": np.zeros((0, 28, 28))}, "empty"),
        ({"images": np.zeros((2, 8, 8, 4))}, "image 0"),
        ({"images": np.zeros((2, 8, 8)), "titles": ["only one"]}, "titles"),
        ({"images": np.zeros((2, 8, 8)), "title_colors": ["red"]}, "title_colors"),
        ({"images": np.zeros((2, 8, 8)), "ncols": 0}, "ncols"),
    ],
)
def test_image_grid_rejects_bad_input_with_a_clear_message(arguments, message):
    with pytest.raises(ValueError, match=message):
        plots.image_grid(**arguments)


# --- plots.plot_class_counts -----------------------------------------------------------


def test_plot_class_counts_draws_one_bar_per_class_and_split():
    counts = {"train": np.array([5, 6, 7]), "test": np.array([1, 2, 3])}
    figure = plots.plot_class_counts(counts, CLASS_NAMES)
    (axis,) = figure.get_axes()
    heights = [patch.get_height() for patch in axis.patches]
    assert heights == [5, 6, 7, 1, 2, 3]
    assert [label.get_text() for label in axis.get_xticklabels()] == list(CLASS_NAMES)
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["train (18)", "test (6)"]


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({}, "at least one split"),
        ({"train": np.array([1, 2])}, "3 integer counts"),
        ({"train": np.array([1.0, 2.0, 3.0])}, "integer"),
        ({"train": np.array([1, -2, 3])}, "negative"),
    ],
)
def test_plot_class_counts_rejects_bad_counts(counts, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_class_counts(counts, CLASS_NAMES)


# --- extract_features, both frameworks -------------------------------------------------


def labelled_images(count: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, 6, 6, 3)).astype(np.float32), rng.integers(0, 3, count)


def test_tf_extract_features_keeps_labels_with_features_even_when_shuffled():
    import keras
    import tensorflow as tf

    from utils import tf_helpers

    images, labels = labelled_images(10)
    # a "base" whose output reveals its input: the mean of each image
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.GlobalAveragePooling2D()])
    expected = images.mean(axis=(1, 2))

    features, ids = tf_helpers.extract_features(model, (images, labels), batch_size=3)
    assert features.dtype == np.float32 and features.shape == (10, 3)
    assert ids.dtype == np.int64
    np.testing.assert_allclose(features, expected, atol=1e-6)
    np.testing.assert_array_equal(ids, labels)

    one_hot = np.eye(3, dtype=np.float32)[labels]
    dataset = tf.data.Dataset.from_tensor_slices((images, one_hot)).shuffle(10, seed=1).batch(4)
    features, ids = tf_helpers.extract_features(model, dataset)
    order = [int(np.argmin(np.abs(expected - row).sum(axis=1))) for row in features]
    assert sorted(order) == list(range(10))
    np.testing.assert_array_equal(ids, labels[order])  # one-hot turned into ids, aligned


def test_torch_extract_features_keeps_labels_runs_without_gradients_and_restores_mode():
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from utils import torch_helpers

    images, labels = labelled_images(10)
    channels_first = images.transpose(0, 3, 1, 2).copy()
    model = torch.nn.Sequential(torch.nn.Dropout(0.9), torch.nn.AdaptiveAvgPool2d(1))
    model.train()
    expected = images.mean(axis=(1, 2))[:, :, None, None]

    features, ids = torch_helpers.extract_features(model, (channels_first, labels), batch_size=3)
    assert features.shape == (10, 3, 1, 1) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected, atol=1e-6)  # dropout was off
    np.testing.assert_array_equal(ids, labels)
    assert model.training  # mode restored

    generator = torch.Generator().manual_seed(1)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(channels_first), torch.from_numpy(labels)),
        batch_size=4,
        shuffle=True,
        generator=generator,
    )
    features, ids = torch_helpers.extract_features(model, loader)
    flat = features.reshape(10, 3)
    order = [int(np.argmin(np.abs(expected[:, :, 0, 0] - row).sum(axis=1))) for row in flat]
    assert sorted(order) == list(range(10))
    np.testing.assert_array_equal(ids, labels[order])


@pytest.mark.parametrize("framework", ["tf", "torch"])
def test_extract_features_rejects_bad_input(framework):
    if framework == "tf":
        import keras

        from utils import tf_helpers as helpers

        model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten()])
    else:
        import torch

        from utils import torch_helpers as helpers

        model = torch.nn.Flatten()
    images, labels = labelled_images(4)
    with pytest.raises(ValueError, match="batch_size"):
        helpers.extract_features(model, (images, labels), batch_size=0)
    with pytest.raises(TypeError, match="model"):
        helpers.extract_features("not a model", (images, labels))
    with pytest.raises((TypeError, ValueError)):
        helpers.extract_features(model, images)  # labels missing


# --- pretrained_*.cut_base, both frameworks (loads the pretrained weights: a few seconds) ----


@pytest.fixture(scope="module")
def lite0_bases():
    from utils import pretrained_tf, pretrained_torch

    return (
        pretrained_tf.efficientnet_lite0(include_top=False, input_size=64),
        pretrained_torch.efficientnet_lite0(include_top=False, input_size=64),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("num_blocks", "shape"), [(1, (32, 32, 16)), (8, (4, 4, 80)), (16, (2, 2, 320))]
)
def test_cut_base_gives_the_same_features_in_both_frameworks(lite0_bases, num_blocks, shape):
    import torch

    from utils import pretrained, pretrained_tf, pretrained_torch, tf_helpers, torch_helpers

    keras_base, torch_base = lite0_bases
    rng = np.random.default_rng(0)
    images = pretrained.preprocess_images(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), 64)
    keras_trunk = pretrained_tf.cut_base(keras_base, num_blocks)
    torch_trunk = pretrained_torch.cut_base(torch_base, num_blocks)
    from_keras = np.asarray(keras_trunk(images, training=False))
    with torch.no_grad():
        from_torch = torch_trunk(pretrained_torch.to_model_input(images)).numpy()
    assert from_keras.shape == (3, *shape)
    assert from_torch.shape == (3, shape[2], shape[0], shape[1])
    scale = np.abs(from_keras).max()
    assert scale > 0
    np.testing.assert_allclose(from_keras, from_torch.transpose(0, 2, 3, 1), atol=1e-5 * scale)
    # the same (frozen) weights, shared with the base and counted alike
    assert tf_helpers.count_parameters(keras_trunk) == torch_helpers.count_parameters(torch_trunk)
    assert tf_helpers.count_parameters(keras_trunk, trainable_only=True) == 0
    assert torch_helpers.count_parameters(torch_trunk, trainable_only=True) == 0


@pytest.mark.slow
def test_cut_base_shares_weights_and_a_frozen_trunk_stays_in_eval_mode(lite0_bases):
    import torch

    from utils import pretrained_tf, pretrained_torch

    keras_base, torch_base = lite0_bases
    keras_trunk = pretrained_tf.cut_base(keras_base, 2)
    assert keras_trunk.get_layer("stem_conv") is keras_base.get_layer("stem_conv")
    torch_trunk = pretrained_torch.cut_base(torch_base, 2)
    assert torch_trunk.conv_stem is torch_base._conv_stem
    assert len(torch_trunk.blocks) == 2
    torch_trunk.train()
    assert not any(module.training for module in torch_trunk.modules())
    torch_trunk.blocks[1]._project_conv.weight.requires_grad_(True)  # unfreeze one weight
    try:
        torch_trunk.train()
        assert torch_trunk.blocks[1].training and not torch_trunk.blocks[0].training
        batch_norms = [m for m in torch_trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert not any(module.training for module in batch_norms)  # frozen statistics
    finally:
        torch_trunk.blocks[1]._project_conv.weight.requires_grad_(False)
        torch_trunk.eval()


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf", "torch"])
def test_cut_base_rejects_bad_arguments(lite0_bases, framework):
    import torch

    from utils import pretrained_tf, pretrained_torch

    keras_base, torch_base = lite0_bases
    helpers, base = (
        (pretrained_tf, keras_base) if framework == "tf" else (pretrained_torch, torch_base)
    )
    for bad in (0, 17, 2.0, True):
        with pytest.raises(ValueError, match="num_blocks"):
            helpers.cut_base(base, bad)
    if framework == "tf":
        import keras

        other = keras.Model(keras_base.input, keras_base.get_layer("stem_conv").output)
    else:
        other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3))
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        helpers.cut_base(other, 4)
