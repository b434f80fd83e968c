"""Pretrained models, offline, in both frameworks (utils.pretrained, _tf, _torch).

Every test here runs with the network cut off: the module-wide fixture below makes
any socket connection fail, so a loader that tried to download would fail the test.
Each model is built once per module (fixtures), and the tests that need a framework
are marked slow.
"""

from __future__ import annotations

import importlib
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils import pretrained

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Largest accepted |Keras logit - PyTorch logit| on the sample photos. Both compute
#: the same float32 network; what differs is only the order of the additions.
LOGIT_TOLERANCE = 1e-3
CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967
COFFEE_LIKE = {ESPRESSO, 968, 504}  # espresso, cup, coffee mug


def _refuse(*args, **kwargs):
    raise OSError("network access is disabled in tests/test_pretrained.py")


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Cut the network for every test in this module (connections raise OSError)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse)
        patch.setattr(socket.socket, "connect_ex", _refuse)
        patch.setattr(socket, "create_connection", _refuse)
        patch.setattr(socket, "getaddrinfo", _refuse)
        yield


def test_the_network_is_really_cut():
    with pytest.raises(OSError, match="disabled"):
        socket.create_connection(("pypi.org", 443), timeout=1)
    with pytest.raises(OSError, match="disabled"), socket.socket() as sock:
        sock.connect(("127.0.0.1", 9))


# --------------------------------------------------------------------------- core


def test_class_names_are_the_1000_imagenet_classes_in_order():
    names = pretrained.imagenet_class_names()
    full = pretrained.imagenet_class_names(full=True)
    wnids = pretrained.imagenet_wordnet_ids()
    assert len(names) == len(full) == len(wnids) == 1000
    # ILSVRC-2012 output order is the WordNet IDs sorted
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000
    assert all(re.fullmatch(r"n\d{8}", wnid) for wnid in wnids)
    assert (names[0], wnids[0]) == ("tench", "n01440764")
    assert names[ESPRESSO] == "espresso" and names[281] == "tabby"
    assert full[281] == "tabby, tabby cat" and names[999] == "toilet tissue"
    assert all(name == label.split(",")[0] for name, label in zip(names, full, strict=True))


def test_decode_predictions_orders_by_probability():
    logits = np.zeros((2, 1000), dtype=np.float32)
    logits[0, [5, 7, 9]] = [3.0, 5.0, 4.0]
    logits[1, 2] = 10.0
    decoded = pretrained.decode_predictions(logits, top=3)
    assert [index for index, _, _ in decoded[0]] == [7, 9, 5]
    assert decoded[0][0][1] == pretrained.imagenet_class_names()[7]
    probabilities = [p for _, _, p in decoded[0]]
    assert probabilities == sorted(probabilities, reverse=True)
    expected = np.exp(5.0) / (np.exp([3.0, 5.0, 4.0]).sum() + 997)
    assert probabilities[0] == pytest.approx(expected)
    assert decoded[1][0][0] == 2
    assert decoded[1][0][2] == pytest.approx(np.exp(10.0) / (np.exp(10.0) + 999))
    with pytest.raises(ValueError, match=r"\(N, 1000\)"):
        pretrained.decode_predictions(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="top"):
        pretrained.decode_predictions(logits, top=0)


def test_preprocess_images_scales_crops_and_repeats_grey():
    grey = np.full((2, 28, 28), 255, dtype=np.uint8)
    grey[1] = 0
    out = pretrained.preprocess_images(grey, size=32)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.float32
    assert np.allclose(out[0], (255 - 127) / 128) and np.allclose(out[1], -127 / 128)

    # a wide image: black margins left and right of a 10x10 grey centre
    wide = np.zeros((10, 30, 3), dtype=np.uint8)
    wide[:, 10:20] = 127
    cropped = pretrained.preprocess_images([wide], size=40)
    assert np.allclose(cropped, 0.0)  # only the centre square is kept
    squeezed = pretrained.preprocess_images([wide], size=40, center_crop=False)
    assert squeezed.min() < -0.9  # the margins are still there

    photos = pretrained.sample_photos(("coffee", "camera"))
    mixed = pretrained.preprocess_images(list(photos.values()), size=48)
    assert mixed.shape == (2, 48, 48, 3)
    assert -1.0 <= mixed.min() and mixed.max() <= 1.0
    assert np.array_equal(mixed[1, ..., 0], mixed[1, ..., 2])  # grey photo -> 3 equal channels


@pytest.mark.parametrize(
    ("images", "size", "error", "match"),
    [
        (np.zeros((1, 40, 40, 3), dtype=np.float32), 64, TypeError, "uint8"),
        (np.zeros((1, 40, 40, 3), dtype=np.uint8), 16, ValueError, "at least 32"),
        (np.zeros((40, 40), dtype=np.uint8), 64, ValueError, "batch"),
        (np.zeros((1, 40, 40, 4), dtype=np.uint8), 64, ValueError, "alpha"),
        ([], 64, ValueError, "empty"),
        (np.zeros((40, 40, 3), dtype=np.uint8), 64, ValueError, "one RGB image"),
    ],
)
def test_preprocess_images_rejects_bad_input(images, size, error, match):
    with pytest.raises(error, match=match):
        pretrained.preprocess_images(images, size=size)


def test_missing_package_error_names_the_pip_command():
    command = r"pip install efficientnet-lite-pytorch==0\.1\.0"
    with pytest.raises(ModuleNotFoundError, match=command):
        pretrained.require("efficientnet_lite_pytorch_not_installed", "efficientnet-lite-pytorch")


def test_importing_the_core_loads_no_framework():
    code = (
        "import sys, utils.pretrained; "
        "print([m for m in ('torch', 'tensorflow', 'keras', 'sentence_transformers', 'PIL') "
        "if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert result.stdout.strip() == "[]"


def test_package_pins_match_requirements():
    text = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, flags=re.MULTILINE))
    for package, version in pretrained.PACKAGE_PINS.items():
        assert pins.get(package) == version, f"{package}: requirements.txt says {pins.get(package)}"


def test_minilm_tokenize_gives_word_piece_ids():
    vocab = (pretrained.minilm_model_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    ids = pretrained.minilm_tokenize(["Hello World", "An UNBELIEVABLY good movie!"], max_len=10)
    assert ids.shape == (2, 10) and ids.dtype == np.int32
    assert [vocab[i] for i in ids[0, :2]] == ["hello", "world"]  # lower-cased
    assert np.all(ids[0, 2:] == pretrained.MINILM_PAD_ID)
    pieces = [vocab[i] for i in ids[1] if i != 0]
    assert pieces[:2] == ["an", "un"] and pieces[-1] == "!" and "##bly" in pieces

    special = pretrained.minilm_tokenize("hello world", max_len=6, add_special_tokens=True)
    assert [vocab[i] for i in special[0, :4]] == ["[CLS]", "hello", "world", "[SEP]"]
    long = pretrained.minilm_tokenize(["word " * 100], max_len=16)
    assert long.shape == (1, 16) and np.all(long != 0)
    with pytest.raises(ValueError, match="max_len"):
        pretrained.minilm_tokenize(["x"], max_len=0)
    with pytest.raises(TypeError, match="strings"):
        pretrained.minilm_tokenize([1, 2])


def test_minilm_embedding_matrix():
    matrix = pretrained.minilm_embedding_matrix()
    assert matrix.shape == (30522, 384) and matrix.dtype == np.float32
    assert np.isfinite(matrix).all()
    hello, world = pretrained.minilm_tokenize(["hello world"], max_len=2)[0]
    assert not np.allclose(matrix[hello], matrix[world])


@pytest.mark.slow
def test_sentence_encoder_loads_offline_and_agrees_with_the_matrix():
    encoder = pretrained.load_sentence_encoder()
    vectors = encoder.encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell."]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    word_embeddings = encoder[0].auto_model.embeddings.word_embeddings.weight
    assert np.array_equal(word_embeddings.detach().numpy(), pretrained.minilm_embedding_matrix())


# --------------------------------------------------------------------------- frameworks


@pytest.fixture(scope="module")
def tf_side():
    return importlib.import_module("utils.pretrained_tf")


@pytest.fixture(scope="module")
def torch_side():
    return importlib.import_module("utils.pretrained_torch")


@pytest.fixture(scope="module")
def photo_batch():
    photos = pretrained.sample_photos()
    return list(photos), pretrained.preprocess_images(list(photos.values()), size=224)


@pytest.fixture(scope="module")
def logits(tf_side, torch_side, photo_batch):
    """ImageNet logits of the sample photos from both frameworks (one model each)."""
    _, images = photo_batch
    keras_logits = tf_side.predict_images(tf_side.efficientnet_lite0(), images)
    torch_logits = torch_side.predict_images(torch_side.efficientnet_lite0(), images)
    return keras_logits, torch_logits


@pytest.mark.slow
def test_weights_are_read_with_weights_only(torch_side, monkeypatch):
    import torch

    calls = []
    real_load = torch.load

    def recording_load(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    state = pretrained.efficientnet_lite0_state_dict()
    torch_side.efficientnet_lite0(include_top=False, input_size=32)
    assert calls == [True, True]
    assert len(state) == 296 and state["_fc.weight"].shape == (1000, 1280)


@pytest.mark.slow
def test_keras_and_torch_logits_agree_on_real_photos(logits):
    keras_logits, torch_logits = logits
    assert keras_logits.shape == torch_logits.shape == (5, 1000)
    assert np.abs(keras_logits - torch_logits).max() < LOGIT_TOLERANCE
    keras_top5 = np.argsort(-keras_logits, axis=1)[:, :5]
    torch_top5 = np.argsort(-torch_logits, axis=1)[:, :5]
    assert np.array_equal(keras_top5, torch_top5)


@pytest.mark.slow
@pytest.mark.parametrize("framework", [0, 1], ids=["keras", "torch"])
def test_sample_photos_are_named_sensibly(logits, photo_batch, framework):
    names, _ = photo_batch
    top = {
        name: [index for index, _, _ in row]
        for name, row in zip(names, pretrained.decode_predictions(logits[framework]), strict=True)
    }
    assert top["coffee"][0] in COFFEE_LIKE and ESPRESSO in top["coffee"][:3]
    assert set(top["chelsea"][:3]) <= CAT_CLASSES


@pytest.mark.slow
def test_feature_extractors_match_in_shape_and_value(tf_side, torch_side):
    images = pretrained.preprocess_images(list(pretrained.sample_photos().values()), size=97)
    keras_map = tf_side.predict_images(
        tf_side.efficientnet_lite0(include_top=False, input_size=97), images
    )
    torch_map = torch_side.predict_images(
        torch_side.efficientnet_lite0(include_top=False, input_size=97), images
    )
    assert keras_map.shape == (5, 4, 4, 1280)  # ceil(97 / 32) = 4, channels last
    assert torch_map.shape == (5, 1280, 4, 4)  # channels first
    # an odd size exercises the asymmetric padding of the strided convolutions
    assert np.abs(keras_map - torch_map.transpose(0, 2, 3, 1)).max() < LOGIT_TOLERANCE
    assert keras_map.min() >= 0.0 and keras_map.max() <= 6.0  # after ReLU6

    keras_avg = tf_side.predict_images(
        tf_side.efficientnet_lite0(include_top=False, pooling="avg", input_size=97), images
    )
    torch_max = torch_side.predict_images(
        torch_side.efficientnet_lite0(include_top=False, pooling="max", input_size=97), images
    )
    assert keras_avg.shape == torch_max.shape == (5, 1280)
    assert np.allclose(keras_avg, keras_map.mean(axis=(1, 2)), atol=1e-5)
    assert np.allclose(torch_max, torch_map.max(axis=(2, 3)))


@pytest.mark.slow
@pytest.mark.parametrize("side", ["tf_side", "torch_side"])
def test_invalid_arguments_are_refused(side, request):
    module = request.getfixturevalue(side)
    with pytest.raises(ValueError, match="include_top=False"):
        module.efficientnet_lite0(include_top=True, pooling="avg")
    with pytest.raises(ValueError, match="pooling"):
        module.efficientnet_lite0(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="at least 32"):
        module.efficientnet_lite0(input_size=16)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        module.to_model_input(np.zeros((2, 3, 32, 32), dtype=np.float32))


@pytest.mark.slow
def test_frozen_keras_base_stays_frozen_in_fit(tf_side):
    import keras

    base = tf_side.efficientnet_lite0(include_top=False, pooling="avg", input_size=32)
    assert base.trainable_weights == [] and len(base.non_trainable_weights) == 245
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(3)(base(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(0).uniform(-1, 1, (6, 32, 32, 3)).astype(np.float32)
    before = [weight.numpy().copy() for weight in base.weights]
    model.fit(images, np.arange(6) % 3, epochs=1, batch_size=6, verbose=0)
    # a frozen base computes the same features in training mode (no stochastic depth)
    assert np.array_equal(np.asarray(base(images, training=True)), np.asarray(base(images)))
    # weights, and BatchNorm's moving statistics, are untouched by a training step
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, base.weights, strict=True))

    tf_side.unfreeze_top_blocks(base, 2)
    trainable = sorted(layer.name for layer in base.layers if layer.trainable_weights)
    parts = ("expand_conv", "dwconv", "project_conv")
    expected = [f"block{i}_{part}" for i in (14, 15) for part in parts] + ["head_conv"]
    assert trainable == sorted(expected)
    batch_norms = [
        layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)


@pytest.mark.slow
def test_frozen_torch_base_stays_frozen_in_training(torch_side):
    import torch

    base = torch_side.efficientnet_lite0(include_top=False, pooling="avg", input_size=32)
    assert not any(parameter.requires_grad for parameter in base.parameters())
    model = torch.nn.Sequential(base, torch.nn.Linear(1280, 3))
    model.train()
    assert not base.training  # a frozen base stays in inference mode
    images = torch_side.to_model_input(
        np.random.default_rng(0).uniform(-1, 1, (6, 32, 32, 3)).astype(np.float32)
    )
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    before = {name: value.clone() for name, value in base.state_dict().items()}
    with torch.no_grad():
        assert torch.equal(base(images), base.eval()(images))  # same features in train mode
    model.train()
    loss = torch.nn.functional.cross_entropy(model(images), torch.arange(6) % 3)
    loss.backward()
    optimizer.step()
    assert all(torch.equal(before[name], value) for name, value in base.state_dict().items())

    torch_side.unfreeze_top_blocks(base, 2)
    model.train()
    trainable = sorted(name for name, p in base.named_parameters() if p.requires_grad)
    parts = ("expand_conv", "depthwise_conv", "project_conv")
    expected = [f"_blocks.{i}._{part}.weight" for i in (14, 15) for part in parts]
    expected.append("_conv_head.weight")
    assert trainable == sorted(expected)
    batch_norms = [m for m in base.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert batch_norms and not any(bn.training for bn in batch_norms)
    assert base._blocks[15].training and not base._blocks[13].training


@pytest.mark.slow
def test_unfreezing_frees_the_same_weights_in_both(tf_side, torch_side):
    keras_model = tf_side.unfreeze_top_blocks(tf_side.efficientnet_lite0(input_size=32), 3)
    torch_model = torch_side.unfreeze_top_blocks(torch_side.efficientnet_lite0(input_size=32), 3)
    keras_count = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
    torch_count = sum(p.numel() for p in torch_model.parameters() if p.requires_grad)
    assert keras_count == torch_count > 1_280_000  # the classifier is included
    with pytest.raises(ValueError, match="between 0 and 16"):
        tf_side.unfreeze_top_blocks(keras_model, 17)
    with pytest.raises(ValueError, match="between 0 and 16"):
        torch_side.unfreeze_top_blocks(torch_model, -1)


@pytest.mark.slow
def test_minilm_embedding_is_the_same_frozen_layer_in_both(tf_side, torch_side):
    import torch

    ids = pretrained.minilm_tokenize(["a great film", "dull"], max_len=5)
    keras_layer = tf_side.minilm_embedding()
    torch_layer = torch_side.minilm_embedding()
    keras_vectors = np.asarray(keras_layer(ids))
    torch_vectors = torch_layer(torch.from_numpy(ids).long()).detach().numpy()
    assert keras_vectors.shape == torch_vectors.shape == (2, 5, 384)
    assert np.array_equal(keras_vectors, torch_vectors)
    assert np.array_equal(keras_vectors[1, 0], pretrained.minilm_embedding_matrix()[ids[1, 0]])
    assert keras_layer.trainable_weights == [] and not torch_layer.weight.requires_grad
    assert np.array_equal(np.asarray(keras_layer.compute_mask(ids)), ids != 0)
    assert torch_layer.padding_idx == 0
    assert tf_side.minilm_embedding(trainable=True).trainable_weights
