"""The MiniLM encoder in Keras and in PyTorch is one function, and LoRA does what it says.

- ``utils.minilm``: batches, padding, initial values, argument checks (no framework);
- the two encoders give the same last hidden states (max abs difference <= 1e-4) on
  40 real movie-review snippets, and their mean-pooled, L2-normalised embeddings match
  what sentence-transformers itself returns for all-MiniLM-L6-v2;
- LoRA: adapters start as the identity update, train only themselves (and the head),
  and compute ``x W + b + (alpha / r) x A B`` in both frameworks;
- the twin modules expose the same public names with the same parameters.

The equivalence tests run with the network cut (``unshare -n``) in the same way as
everything else: every file is read from installed packages.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from utils import config, data, minilm

NUM_SNIPPETS = 40


@pytest.fixture(scope="module")
def snippets() -> list[str]:
    splits = data.load_movie_reviews(seed=config.SEED)
    return list(splits.x_test[:NUM_SNIPPETS])


@pytest.fixture(scope="module")
def batches(snippets) -> list[minilm.Batch]:
    sequences = minilm.encode_texts(snippets, max_len=128)
    return minilm.make_batches(sequences, np.zeros(len(snippets), int), 16, shuffle=False)


# --------------------------------------------------------------------------- framework-free


def test_encode_texts_wraps_pieces_in_cls_and_sep():
    (ids,) = minilm.encode_texts(["A fairly terrible movie."])
    assert ids.dtype == np.int32
    assert ids[0] == minilm.CLS_ID and ids[-1] == minilm.SEP_ID
    pieces = minilm.word_pieces("A fairly terrible movie.")
    assert pieces == ["[CLS]", "a", "fairly", "terrible", "movie", ".", "[SEP]"]


def test_encode_texts_cuts_long_texts_and_keeps_sep():
    (ids,) = minilm.encode_texts(["word " * 100], max_len=10)
    assert len(ids) == 10 and ids[-1] == minilm.SEP_ID


@pytest.mark.parametrize("max_len", [2, 513, 8.0, True])
def test_encode_texts_rejects_bad_max_len(max_len):
    with pytest.raises(ValueError, match="max_len"):
        minilm.encode_texts(["text"], max_len=max_len)


def test_encode_texts_rejects_non_strings():
    with pytest.raises(TypeError, match="texts"):
        minilm.encode_texts([1, 2])


def test_make_batches_pads_per_batch_to_a_multiple_of_eight():
    sequences = [np.arange(1, length + 1, dtype=np.int32) for length in (3, 9, 4, 20, 5)]
    labels = np.array([0, 1, 0, 1, 1])
    batches = minilm.make_batches(sequences, labels, batch_size=2, shuffle=False)
    assert [batch.token_ids.shape for batch in batches] == [(2, 16), (2, 24), (1, 8)]
    first = batches[0]
    assert first.mask.tolist()[0] == [1] * 3 + [0] * 13
    assert first.token_ids[0, 3:].max() == minilm.PAD_ID
    assert np.concatenate([batch.labels for batch in batches]).tolist() == labels.tolist()


def test_make_batches_shuffles_reproducibly_and_groups_by_length():
    rng = np.random.default_rng(0)
    sequences = [np.ones(rng.integers(3, 60), dtype=np.int32) for _ in range(640)]
    labels = rng.integers(0, 2, 640)
    first = minilm.make_batches(sequences, labels, 32, shuffle=True, seed=1)
    again = minilm.make_batches(sequences, labels, 32, shuffle=True, seed=1)
    other = minilm.make_batches(sequences, labels, 32, shuffle=True, seed=2)
    assert all(np.array_equal(a.token_ids, b.token_ids) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a.labels, b.labels) for a, b in zip(first, other, strict=True))
    assert sum(len(batch.labels) for batch in first) == 640
    grouped = np.mean([batch.mask.mean() for batch in first])
    ungrouped = minilm.make_batches(sequences, labels, 32, shuffle=True, seed=1, pool_batches=1)
    assert grouped > np.mean([batch.mask.mean() for batch in ungrouped]) + 0.2


def test_make_batches_checks_its_arguments():
    sequences = [np.ones(3, dtype=np.int32)] * 4
    with pytest.raises(ValueError, match="labels"):
        minilm.make_batches(sequences, np.zeros(3), 2)
    with pytest.raises(ValueError, match="batch_size"):
        minilm.make_batches(sequences, np.zeros(4), 0)
    with pytest.raises(ValueError, match="empty"):
        minilm.make_batches([], np.zeros(0), 2)


def test_lora_init_starts_with_a_zero_update_and_depends_on_the_layer():
    lora_a, lora_b = minilm.lora_init(0, 0, "query", 8, 384, 384)
    assert lora_a.shape == (384, 8) and lora_b.shape == (8, 384)
    assert not lora_b.any() and lora_a.std() > 0
    other_a, _ = minilm.lora_init(0, 0, "value", 8, 384, 384)
    assert not np.array_equal(lora_a, other_a)


@pytest.mark.parametrize(
    ("rank", "targets", "error"),
    [(0, ("query",), ValueError), (8, ("pooler",), ValueError), (8, "query", TypeError)],
)
def test_check_lora_args_names_the_problem(rank, targets, error):
    with pytest.raises(error, match="rank|targets"):
        minilm.check_lora_args(rank, targets)


def test_head_from_linear_model_takes_a_fitted_binary_probe():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(40, 384)), np.arange(40) % 2
    probe = LogisticRegression().fit(features, labels)
    kernel, bias = minilm.head_from_linear_model(probe)
    assert kernel.shape == (384, 1) and bias.shape == (1,) and kernel.dtype == np.float32
    np.testing.assert_allclose(
        features @ kernel[:, 0] + bias[0], probe.decision_function(features), rtol=1e-5, atol=1e-5
    )
    with pytest.raises(ValueError, match="fitted"):
        minilm.head_from_linear_model(LogisticRegression())
    three_classes = LogisticRegression().fit(features, np.arange(40) % 3)
    with pytest.raises(ValueError, match="binary"):
        minilm.head_from_linear_model(three_classes)
    with pytest.raises(ValueError, match="head_from_linear_model"):
        minilm.check_head((kernel[:10], bias))


def test_mean_pool_ignores_padding_and_normalises():
    hidden = np.zeros((1, 3, 2), dtype=np.float32)
    hidden[0, 0] = [3, 0]
    hidden[0, 1] = [0, 4]
    hidden[0, 2] = [100, 100]  # padding
    pooled = minilm.mean_pool(hidden, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(pooled, [[0.6, 0.8]], atol=1e-6)


def test_weights_cover_the_whole_encoder():
    weights = minilm.minilm_weights()
    assert len(weights) == 5 + 6 * 16
    assert weights["block0.query.kernel"].shape == (384, 384)
    assert weights["block5.intermediate.kernel"].shape == (384, 1536)
    assert sum(value.size for value in weights.values()) == 22_565_376


def test_plot_attention_returns_a_figure_and_checks_shapes():
    from matplotlib.figure import Figure

    figure = minilm.plot_attention(np.full((3, 3), 1 / 3), ["[CLS]", "hi", "[SEP]"])
    assert isinstance(figure, Figure)
    with pytest.raises(ValueError, match="tokens"):
        minilm.plot_attention(np.full((3, 3), 1 / 3), ["a"])


# --------------------------------------------------------------------------- both frameworks


@pytest.fixture(scope="module")
def encoders():
    from utils import minilm_tf, minilm_torch

    return minilm_tf.minilm_encoder(), minilm_torch.minilm_encoder()


@pytest.mark.slow
def test_keras_and_pytorch_encoders_are_the_same_function(encoders, batches):
    from utils import minilm_tf, minilm_torch

    keras_encoder, torch_encoder = encoders
    keras_hidden = minilm_tf.encode(keras_encoder, batches, pooled=False)
    torch_hidden = minilm_torch.encode(torch_encoder, batches, pooled=False)
    assert sum(len(hidden) for hidden in keras_hidden) == NUM_SNIPPETS >= 32
    for batch, ours, theirs in zip(batches, keras_hidden, torch_hidden, strict=True):
        assert ours.shape == theirs.shape == (*batch.token_ids.shape, 384)
        real = batch.mask.astype(bool)  # padded positions are never read
        assert np.abs(ours[real] - theirs[real]).max() <= 1e-4


@pytest.mark.slow
def test_mean_pooled_embeddings_match_sentence_transformers(encoders, batches, snippets):
    from utils import minilm_tf, minilm_torch, pretrained

    reference = pretrained.load_sentence_encoder().encode(snippets, convert_to_numpy=True)
    for encoder, module in zip(encoders, (minilm_tf, minilm_torch), strict=True):
        embeddings = module.encode(encoder, batches)
        assert embeddings.shape == (NUM_SNIPPETS, 384)
        np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
        assert np.abs(embeddings - reference).max() <= 1e-5, module.__name__


@pytest.mark.slow
def test_a_head_started_from_a_linear_probe_gives_the_probes_predictions(encoders, batches):
    """Linear probing, then fine-tuning: the classifier starts as the probe, in both frameworks."""
    from sklearn.linear_model import LogisticRegression

    from utils import minilm_tf, minilm_torch

    labels = np.arange(NUM_SNIPPETS) % 2  # any labels: the probe only needs to be fitted
    for encoder, module in zip(encoders, (minilm_tf, minilm_torch), strict=True):
        features = module.encode(encoder, batches)
        probe = LogisticRegression(max_iter=1_000).fit(features, labels)
        model = module.sentence_classifier(encoder, head=minilm.head_from_linear_model(probe))
        np.testing.assert_allclose(
            module.predict_proba(model, batches), probe.predict_proba(features)[:, 1], atol=1e-5
        )


@pytest.mark.slow
def test_lora_trains_only_the_adapters_and_the_head():
    from utils import minilm_tf, minilm_torch

    keras_model = minilm_tf.add_lora(minilm_tf.sentence_classifier(head_seed=3), rank=4)
    torch_model = minilm_torch.add_lora(minilm_torch.sentence_classifier(head_seed=3), rank=4)
    adapters = 6 * 2 * (384 * 4 + 4 * 384)
    head = 384 + 1
    assert sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights) == adapters + head
    trainable = [p for p in torch_model.parameters() if p.requires_grad]
    assert sum(p.numel() for p in trainable) == adapters + head
    with pytest.raises(ValueError, match="already"):
        minilm_torch.add_lora(torch_model, rank=4)


@pytest.mark.slow
def test_lora_layers_compute_the_low_rank_update_in_both_frameworks(batches):
    import torch

    from utils import minilm_tf, minilm_torch

    keras_model = minilm_tf.sentence_classifier(head_seed=5)
    torch_model = minilm_torch.sentence_classifier(head_seed=5)
    before = minilm_torch.predict_proba(torch_model, batches[:1])
    for model, module in ((keras_model, minilm_tf), (torch_model, minilm_torch)):
        module.add_lora(model, rank=2, targets=("value", "output"), alpha=4.0, seed=7)
    # B starts at zero: the adapted model computes what the pretrained one did
    np.testing.assert_allclose(
        minilm_torch.predict_proba(torch_model, batches[:1]), before, atol=1e-6
    )
    # give both the same non-zero B and check x W + b + (alpha / r) x A B by hand
    rng = np.random.default_rng(0)
    lora_b = rng.normal(0, 0.05, size=(2, 384)).astype(np.float32)
    keras_dense = keras_model.encoder.blocks[0].value
    torch_layer = torch_model.encoder.blocks[0].value
    keras_dense.lora_kernel_b.assign(lora_b)
    with torch.no_grad():
        torch_layer.lora_b.copy_(torch.from_numpy(lora_b))
    x = rng.normal(size=(3, 384)).astype(np.float32)
    weights = minilm.minilm_weights()
    lora_a, _ = minilm.lora_init(7, 0, "value", 2, 384, 384)
    expected = x @ weights["block0.value.kernel"] + weights["block0.value.bias"]
    expected += 2.0 * (x @ lora_a @ lora_b)
    np.testing.assert_allclose(np.asarray(keras_dense(x)), expected, atol=1e-4)
    np.testing.assert_allclose(
        torch_layer(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-4
    )
    # the feed-forward network's second layer (``output_dense`` in Keras) too
    output_b = rng.normal(0, 0.05, size=(2, 384)).astype(np.float32)
    keras_model.encoder.blocks[1].output_dense.lora_kernel_b.assign(output_b)
    with torch.no_grad():
        torch_model.encoder.blocks[1].output.lora_b.copy_(torch.from_numpy(output_b))
    # and the two whole models still agree
    np.testing.assert_allclose(
        minilm_tf.predict_proba(keras_model, batches),
        minilm_torch.predict_proba(torch_model, batches),
        atol=1e-4,
    )


@pytest.mark.slow
def test_the_twin_modules_have_the_same_public_names_and_parameters():
    from utils import minilm_tf, minilm_torch

    def signatures(module):
        found = {}
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found[name] = [
                    (p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()
                ]
        return found

    assert set(minilm_tf.__all__) - {"LoRALinear"} == set(minilm_torch.__all__) - {"LoRALinear"}
    assert signatures(minilm_tf) == signatures(minilm_torch)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf", "torch"])
def test_helpers_reject_bad_arguments(framework):
    import importlib

    module = importlib.import_module(f"utils.minilm_{framework}")
    with pytest.raises(ValueError, match="dropout"):
        module.minilm_encoder(dropout=1.5)
    with pytest.raises(TypeError, match="encoder"):
        module.sentence_classifier(encoder="minilm")
    with pytest.raises(ValueError, match="batches"):
        module.fit(None, [], learning_rate=1e-4)
