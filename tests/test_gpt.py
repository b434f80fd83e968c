"""Tests of utils.gpt and its twins utils.gpt_tf / utils.gpt_torch (tiny models, CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from utils import gpt, gpt_tf, gpt_torch
from utils.text import EOS_ID, PAD_ID

TINY = gpt.GPTConfig(vocab_size=50, context=12, width=16, depth=2, heads=2)
TWINS = [gpt_tf, gpt_torch]


def random_ids(rows: int, steps: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(3, TINY.vocab_size, (rows, steps)).astype(np.int32)


def test_config_counts_parameters():
    width, inner = TINY.width, 4 * TINY.width
    block = 4 * (width * width + width) + width * inner + inner + inner * width + width + 4 * width
    assert TINY.non_embedding_parameters == TINY.depth * block + 2 * width
    assert TINY.embedding_parameters == (50 + 12) * width
    assert TINY.parameters == TINY.non_embedding_parameters + TINY.embedding_parameters
    sizes = [gpt.model_config(size, 2000, 64).non_embedding_parameters for size in gpt.MODEL_SIZES]
    assert sizes == sorted(sizes) and sizes[-1] >= 10 * sizes[0]
    with pytest.raises(ValueError, match="multiple of heads"):
        gpt.GPTConfig(50, 12, 16, 1, 3)
    with pytest.raises(ValueError, match="depth"):
        gpt.GPTConfig(50, 12, 16, 0, 2)
    with pytest.raises(ValueError, match="size must be one of"):
        gpt.model_config("XXL", 50, 12)


def test_init_weights_are_seeded_and_shaped():
    first, again, other = (gpt.init_weights(TINY, seed) for seed in (1, 1, 2))
    assert list(first) == list(gpt.weight_shapes(TINY))
    assert all(first[name].shape == shape for name, shape in gpt.weight_shapes(TINY).items())
    assert all(np.array_equal(first[name], again[name]) for name in first)
    assert not np.array_equal(first["token_embedding"], other["token_embedding"])
    assert (first["block0.mlp_in.bias"] == 0).all() and (first["final_norm.gamma"] == 1).all()
    assert first["block1.mlp_out.kernel"].std() < first["block1.mlp_in.kernel"].std()


@pytest.mark.parametrize("module", TWINS, ids=lambda m: m.__name__)
def test_weights_round_trip_and_parameter_count(module):
    model = module.build_model(TINY, seed=3)
    assert module.count_parameters(model) == TINY.parameters
    weights = module.get_weights(model)
    expected = gpt.init_weights(TINY, 3)
    assert all(np.array_equal(weights[name], expected[name]) for name in expected)
    with pytest.raises(ValueError, match="missing"):
        module.set_weights(model, {"token_embedding": expected["token_embedding"]})
    with pytest.raises(TypeError, match="GPTConfig"):
        module.build_model({"width": 16})
    with pytest.raises(ValueError, match="2-D integer"):
        module.logits(model, np.zeros(5, np.int32))


def test_the_twins_compute_the_same_function():
    ids = random_ids(3, TINY.context)
    tf_model, torch_model = (module.build_model(TINY, seed=5) for module in TWINS)
    # move away from the starting point, so that every weight matters
    trained = {
        name: value + np.random.default_rng(9).normal(0, 0.05, value.shape).astype(np.float32)
        for name, value in gpt.init_weights(TINY, 5).items()
    }
    for module, model in zip(TWINS, (tf_model, torch_model), strict=True):
        module.set_weights(model, trained)
    tf_logits = gpt_tf.logits(tf_model, ids)
    torch_logits = gpt_torch.logits(torch_model, ids)
    assert tf_logits.shape == (3, TINY.context, TINY.vocab_size)
    assert np.abs(tf_logits - torch_logits).max() < 1e-4
    labels = np.array([0, 1, 1])
    padded = ids.copy()
    padded[0, 7:] = PAD_ID
    for pooling in ("mean", "last"):
        probabilities = [
            module.predict_proba(module.build_classifier(model, seed=2, pooling=pooling), padded)
            for module, model in zip(TWINS, (tf_model, torch_model), strict=True)
        ]
        assert probabilities[0].shape == labels.shape
        assert np.abs(probabilities[0] - probabilities[1]).max() < 1e-5


@pytest.mark.parametrize("module", TWINS, ids=lambda m: m.__name__)
def test_attention_is_causal(module):
    model = module.build_model(TINY, seed=1)
    ids = random_ids(2, TINY.context)
    changed = ids.copy()
    changed[:, 6:] = (changed[:, 6:] + 1 - 3) % (TINY.vocab_size - 3) + 3  # a different future
    before, after = module.logits(model, ids), module.logits(model, changed)
    np.testing.assert_allclose(before[:, :6], after[:, :6], atol=1e-6)
    assert np.abs(before[:, 6:] - after[:, 6:]).max() > 1e-4


@pytest.mark.parametrize("module", TWINS, ids=lambda m: m.__name__)
def test_padding_does_not_change_the_classifier(module):
    classifier = module.build_classifier(module.build_model(TINY, seed=1), seed=0)
    ids = random_ids(1, 5)
    padded = np.concatenate([ids, np.zeros((1, 7), np.int32)], axis=1)
    np.testing.assert_allclose(
        module.predict_proba(classifier, ids), module.predict_proba(classifier, padded), atol=1e-6
    )
    with pytest.raises(ValueError, match="pooling"):
        module.build_classifier(module.build_model(TINY), pooling="max")


def test_the_twins_train_alike():
    stream = np.tile(np.arange(3, 23, dtype=np.int32), 40)  # a cycle: easy to learn
    offsets = gpt.batch_offsets(len(stream), TINY.context, 8, 30, seed=0)
    rates = gpt.learning_rates(30, 1e-2, 3)
    val = gpt.eval_windows(stream, TINY.context)
    losses = []
    for module in TWINS:
        model = module.build_model(TINY, seed=0)
        history = module.train_language_model(
            model, stream, offsets, rates, val_data=val, eval_every=10
        )
        assert history["val_step"] == [10, 20, 30] and len(history["train_loss"]) == 30
        assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
        losses.append(module.evaluate_loss(model, *val))
        assert losses[-1] == pytest.approx(history["val_loss"][-1], rel=1e-4)
        with pytest.raises(ValueError, match="rates"):
            module.train_language_model(model, stream, offsets, rates[:5])
    assert abs(losses[0] - losses[1]) < 0.02


def test_the_classifiers_train_alike():
    ids = random_ids(40, TINY.context, seed=4)
    labels = (ids[:, 0] > 25).astype(np.int64)  # the first token decides
    batches = gpt.example_batches(40, 8, 20, seed=0)
    rates = gpt.learning_rates(20, 1e-2, 2)
    results = []
    for module in TWINS:
        classifier = module.build_classifier(module.build_model(TINY, seed=0), seed=0)
        history = module.train_classifier(classifier, ids, labels, batches, rates)
        assert len(history["train_loss"]) == 20
        results.append(module.predict_proba(classifier, ids))
        assert np.mean((results[-1] > 0.5) == labels) >= 0.8
    # Adam divides by the gradient's size, so the rounding noise of gradients that are 0
    # in exact arithmetic (the key biases, say) becomes full steps: the twins drift apart
    # weight by weight, while they learn the same thing
    assert np.mean((results[0] > 0.5) == (results[1] > 0.5)) >= 0.85


def test_batches_are_seeded_windows():
    stream = np.arange(100, dtype=np.int32)
    offsets = gpt.batch_offsets(len(stream), 10, batch_size=4, steps=3, seed=1)
    assert offsets.shape == (3, 4) and offsets.max() < 90 and offsets.min() >= 0
    assert np.array_equal(offsets, gpt.batch_offsets(100, 10, 4, 3, seed=1))
    assert not np.array_equal(offsets, gpt.batch_offsets(100, 10, 4, 3, seed=2))
    inputs, targets = gpt.get_batch(stream, offsets[0], 10)
    assert inputs.shape == (4, 10) and inputs.dtype == np.int32
    assert np.array_equal(targets, inputs + 1)
    inputs, targets = gpt.eval_windows(stream, 10)
    assert inputs.shape == (9, 10) and inputs[1, 0] == 10 and targets[-1, -1] == 90
    assert gpt.eval_windows(stream, 10, max_windows=2)[0].shape == (2, 10)
    with pytest.raises(ValueError, match="offsets must lie"):
        gpt.get_batch(stream, np.array([95]), 10)
    with pytest.raises(ValueError, match="must exceed context"):
        gpt.batch_offsets(10, 10, 2, 2)
    with pytest.raises(ValueError, match="batch_size"):
        gpt.batch_offsets(100, 10, 0, 2)


def test_example_batches_cover_each_pass():
    batches = gpt.example_batches(10, 3, 7, seed=0)
    assert batches.shape == (7, 3)
    first_pass = batches[:3].ravel()
    assert len(set(first_pass.tolist())) == 9  # no example twice within a pass
    with pytest.raises(ValueError, match="must not exceed"):
        gpt.example_batches(2, 3, 1)


def test_few_labels_keeps_the_class_shares():
    labels = np.array([0] * 60 + [1] * 40)
    chosen = gpt.few_labels(labels, 10, seed=0)
    assert len(chosen) == 10 and len(set(chosen.tolist())) == 10
    assert np.bincount(labels[chosen]).tolist() == [6, 4]
    with pytest.raises(ValueError, match="count"):
        gpt.few_labels(labels, 101)


def test_learning_rates_warm_up_then_decay():
    rates = gpt.learning_rates(100, 1e-3, 10)
    assert rates.shape == (100,) and rates[9] == pytest.approx(1e-3)
    assert rates[0] == pytest.approx(1e-4) and rates[-1] == pytest.approx(1e-4)
    assert (np.diff(rates[:10]) > 0).all() and (np.diff(rates[10:]) <= 0).all()
    with pytest.raises(ValueError, match="warmup"):
        gpt.learning_rates(10, 1e-3, 10)


def test_unigram_loss_is_the_entropy_of_the_frequencies():
    train = np.array([3, 3, 3, 4])
    assert gpt.unigram_loss(train, np.array([3, 4]), 5, smoothing=0.0) == pytest.approx(
        -(np.log(0.75) + np.log(0.25)) / 2
    )
    assert np.isfinite(gpt.unigram_loss(train, np.array([2]), 5))  # unseen, smoothed
    assert gpt.bits_per_char(np.log(2)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="vocab_size"):
        gpt.unigram_loss(train, np.array([7]), 5)


def test_power_law_fits_recover_the_exponent():
    sizes = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
    plain = gpt.fit_power_law(sizes, 20.0 * sizes**-0.3)
    assert not plain.with_offset and plain.exponent == pytest.approx(0.3, abs=1e-6)
    curved = gpt.fit_power_law(sizes, 4.0 + 30.0 * sizes**-0.5)
    assert curved.with_offset and curved.offset == pytest.approx(4.0, abs=0.05)
    assert curved.exponent == pytest.approx(0.5, abs=0.05)
    np.testing.assert_allclose(curved.predict(sizes), 4.0 + 30.0 * sizes**-0.5, rtol=1e-3)
    with pytest.raises(ValueError, match="at least 3"):
        gpt.fit_power_law([1, 2], [3, 4])
    with pytest.raises(ValueError, match="> 0"):
        gpt.fit_power_law([1, 2, 3], [3, 0, 4])


def test_sampling_respects_top_k_and_temperature():
    logits = np.array([0.0, 1.0, 5.0, 4.0])
    rng = np.random.default_rng(0)
    draws = [gpt.sample_next(logits, 1.0, 2, rng) for _ in range(200)]
    assert set(draws) == {2, 3}
    cold = [gpt.sample_next(logits, 0.01, None, rng) for _ in range(50)]
    assert set(cold) == {2}
    with pytest.raises(ValueError, match="temperature"):
        gpt.sample_next(logits, 0.0, None, rng)
    with pytest.raises(ValueError, match="1-D"):
        gpt.sample_next(logits[None], 1.0, None, rng)


def test_generate_is_seeded_and_stops():
    def next_logits(window):
        assert window.shape[1] <= 4
        return np.log(np.array([0.1, 0.1, 0.3, 0.5]))

    first = gpt.generate(next_logits, [3], 20, context=4, seed=1)
    assert first[0] == 3 and len(first) == 21
    assert np.array_equal(first, gpt.generate(next_logits, [3], 20, context=4, seed=1))
    stopped = gpt.generate(next_logits, [3], 50, context=4, seed=1, stop_id=EOS_ID)
    assert stopped[-1] == EOS_ID or len(stopped) == 51
    with pytest.raises(ValueError, match="at least one id"):
        gpt.generate(next_logits, [], 3, context=4)


@pytest.mark.parametrize("module", TWINS, ids=lambda m: m.__name__)
def test_generate_with_a_model(module):
    model = module.build_model(TINY, seed=0)
    out = module.generate(model, [5, 6], 15, temperature=0.8, top_k=5, seed=3)
    assert out.dtype == np.int32 and len(out) == 17 and out[:2].tolist() == [5, 6]
    assert np.array_equal(out, module.generate(model, [5, 6], 15, 0.8, 5, 3))


@pytest.mark.slow
def test_pretraining_text_keeps_the_held_out_reviews_out():
    text = gpt.load_pretraining_text(vocab_size=2000)
    held_out = set(text.splits.x_val) | set(text.splits.x_test)
    assert not held_out & (set(text.train_texts) | set(text.val_texts))
    assert set(text.train_texts) | set(text.val_texts) == set(text.splits.x_train)
    assert not set(text.train_texts) & set(text.val_texts)
    assert len(text.vocabulary) == 2000 and text.vocabulary.coverage(text.val_texts) > 0.98
    assert (text.train_ids == EOS_ID).sum() == len(text.train_texts)
    assert text.fingerprint == gpt.load_pretraining_text(vocab_size=2000).fingerprint
    assert text.fingerprint != gpt.load_pretraining_text(seed=1, vocab_size=2000).fingerprint
    with pytest.raises(ValueError, match="val_fraction"):
        gpt.load_pretraining_text(val_fraction=0.9)
