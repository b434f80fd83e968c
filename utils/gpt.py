"""A small GPT for the pretraining labs: everything that does not depend on the framework.

The Keras twin (:mod:`utils.gpt_tf`) and the PyTorch twin (:mod:`utils.gpt_torch`) build
the same decoder-only transformer. This module gives both of them the same inputs, so
that the two frameworks differ only in how they compute:

* the text (:func:`load_pretraining_text`): the Chinese reviews' training split, without
  labels, partly held out for validation, as streams of character ids;
* the batches (:func:`batch_offsets`, :func:`get_batch`): random windows of the stream,
  drawn in a fixed order from a seed;
* the starting weights (:func:`init_weights`): drawn in numpy from a seed, with one
  name and one layout (Keras's: a dense kernel is ``(inputs, outputs)``) per weight;
* the learning rate of every step (:func:`learning_rates`);
* the yardsticks: the unigram baseline (:func:`unigram_loss`) and a power-law fit
  (:func:`fit_power_law`);
* sampling from the logits a model returns (:func:`sample_next`, :func:`generate`).

Losses are cross-entropies in nats (natural logarithms); :func:`bits_per_char` converts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from utils import data
from utils.config import SEED
from utils.data.splits import TextSplits
from utils.text import CharVocabulary

__all__ = [
    "MODEL_SIZES",
    "GPTConfig",
    "PowerLaw",
    "PretrainingText",
    "batch_offsets",
    "bits_per_char",
    "eval_windows",
    "example_batches",
    "few_labels",
    "fit_power_law",
    "generate",
    "get_batch",
    "head_weights",
    "init_weights",
    "learning_rates",
    "load_pretraining_text",
    "model_config",
    "sample_next",
    "unigram_loss",
    "weight_shapes",
]

#: The model sizes: name -> (width, depth, heads). The labs' scaling study trains the
#: four smallest on one small budget; ``XL`` is the model they pretrain longer and
#: fine-tune.
MODEL_SIZES: dict[str, tuple[int, int, int]] = {
    "XS": (8, 1, 1),
    "S": (16, 1, 1),
    "M": (24, 1, 2),
    "L": (32, 1, 2),
    "XL": (128, 2, 4),
}

_INIT_STD = 0.02  # GPT-2's standard deviation for every weight matrix and embedding


def _check_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a decoder-only transformer.

    Attributes:
        vocab_size: number of token ids (the output layer has one logit per id).
        context: the longest sequence the model reads (rows of its position embedding).
        width: the model width (embedding size) ``d``.
        depth: number of transformer blocks.
        heads: attention heads per block; ``width`` must be a multiple of it.
    """

    vocab_size: int
    context: int
    width: int
    depth: int
    heads: int

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "width", "depth", "heads"):
            _check_int(getattr(self, name), name)
        if self.width % self.heads:
            raise ValueError(
                f"width ({self.width}) must be a multiple of heads ({self.heads}): "
                "each head gets width // heads dimensions"
            )

    @property
    def head_size(self) -> int:
        return self.width // self.heads

    @property
    def parameters(self) -> int:
        """All weights; the output layer is tied to the token embedding (no extra weights)."""
        return sum(math.prod(shape) for shape in weight_shapes(self).values())

    @property
    def embedding_parameters(self) -> int:
        """The token and position embeddings: ``(vocab_size + context) * width``."""
        return (self.vocab_size + self.context) * self.width

    @property
    def non_embedding_parameters(self) -> int:
        """Everything else: the blocks and the final layer norm (Kaplan et al.'s ``N``)."""
        return self.parameters - self.embedding_parameters


def model_config(size: str, vocab_size: int, context: int) -> GPTConfig:
    """The :class:`GPTConfig` of one of :data:`MODEL_SIZES` (``"XS"``, ``"S"``, ...)."""
    if size not in MODEL_SIZES:
        raise ValueError(f"size must be one of {list(MODEL_SIZES)}, got {size!r}")
    width, depth, heads = MODEL_SIZES[size]
    return GPTConfig(vocab_size, context, width, depth, heads)


def weight_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Every weight of the language model by name, in a fixed order, in Keras's layout.

    A dense layer's ``kernel`` is ``(inputs, outputs)`` (PyTorch's ``nn.Linear.weight``
    is its transpose); a layer norm has ``gamma`` (scale) and ``beta`` (shift). Each
    block is pre-norm: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``.
    """
    width, inner = config.width, 4 * config.width
    shapes: dict[str, tuple[int, ...]] = {
        "token_embedding": (config.vocab_size, width),
        "position_embedding": (config.context, width),
    }
    for index in range(config.depth):
        block = f"block{index}"
        dense = {
            "query": (width, width),
            "key": (width, width),
            "value": (width, width),
            "attention_output": (width, width),
            "mlp_in": (width, inner),
            "mlp_out": (inner, width),
        }
        for norm in ("attention_norm", "mlp_norm"):
            shapes[f"{block}.{norm}.gamma"] = (width,)
            shapes[f"{block}.{norm}.beta"] = (width,)
        for name, shape in dense.items():
            shapes[f"{block}.{name}.kernel"] = shape
            shapes[f"{block}.{name}.bias"] = (shape[1],)
    shapes["final_norm.gamma"] = (width,)
    shapes["final_norm.beta"] = (width,)
    return shapes


def init_weights(config: GPTConfig, seed: int = SEED) -> dict[str, np.ndarray]:
    """Starting weights of the language model, drawn in numpy from ``seed``.

    GPT-2's scheme: every matrix and embedding from a normal with standard deviation
    0.02, the two projections that write into the residual stream (``attention_output``
    and ``mlp_out``) scaled down by ``sqrt(2 * depth)``, biases 0, layer-norm scales 1.
    Both twins load these numbers, so they start from the same function.

    Returns:
        ``{name: float32 array}`` with the names and shapes of :func:`weight_shapes`.
    """
    seed = _check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    residual_std = _INIT_STD / math.sqrt(2 * config.depth)
    weights = {}
    for name, shape in weight_shapes(config).items():
        if name.endswith(".gamma"):
            value = np.ones(shape)
        elif name.endswith((".beta", ".bias")):
            value = np.zeros(shape)
        else:
            residual = name.endswith(("attention_output.kernel", "mlp_out.kernel"))
            value = rng.normal(0.0, residual_std if residual else _INIT_STD, shape)
        weights[name] = value.astype(np.float32)
    return weights


def head_weights(width: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Starting weights of the classifier head (one logit): ``head.kernel`` ``(width, 1)``
    from a normal with standard deviation 0.02, ``head.bias`` ``(1,)`` zero."""
    width = _check_int(width, "width")
    rng = np.random.default_rng([_check_int(seed, "seed", minimum=0), 1])
    return {
        "head.kernel": rng.normal(0.0, _INIT_STD, (width, 1)).astype(np.float32),
        "head.bias": np.zeros(1, np.float32),
    }


# --- the text ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PretrainingText:
    """The pretraining text and the labelled reviews kept back for fine-tuning.

    Attributes:
        vocabulary: built on ``train_texts`` only.
        train_texts, val_texts: the reviews of ``splits.x_train`` (labels dropped), split
            in two; the validation and test reviews of ``splits`` are in neither.
        train_ids, val_ids: ``int32`` streams, each review followed by ``EOS_ID``.
        splits: the labelled train / validation / test split, for fine-tuning.
        fingerprint: 12 hex digits; equal in both twins when they use the same data.
    """

    vocabulary: CharVocabulary
    train_texts: list[str] = field(repr=False)
    val_texts: list[str] = field(repr=False)
    train_ids: np.ndarray = field(repr=False)
    val_ids: np.ndarray = field(repr=False)
    splits: TextSplits = field(repr=False)
    fingerprint: str = ""


def load_pretraining_text(
    seed: int = SEED, vocab_size: int = 2000, val_fraction: float = 0.1
) -> PretrainingText:
    """The Chinese reviews as unlabelled text for next-character prediction.

    Only the reviews of the labelled *training* split (:func:`utils.data.load_chinese_reviews`
    with ``seed``) become pretraining text, so the reviews that fine-tuning validates and
    tests on are never seen, even without labels. A random ``val_fraction`` of them
    (drawn from ``seed``) is held out to measure the validation loss.

    Args:
        seed: seed of both splits.
        vocab_size: vocabulary size including the 3 special ids (:class:`CharVocabulary`).
        val_fraction: share of the training reviews held out, in (0, 0.5].

    Returns:
        A :class:`PretrainingText`.
    """
    seed = _check_int(seed, "seed", minimum=0)
    if not isinstance(val_fraction, float) or not 0.0 < val_fraction <= 0.5:
        raise ValueError(f"val_fraction must be a float in (0, 0.5], got {val_fraction!r}")
    splits = data.load_chinese_reviews(seed=seed)
    texts = list(splits.x_train)
    order = np.random.default_rng([seed, 2]).permutation(len(texts))
    held_out = np.sort(order[: round(val_fraction * len(texts))])
    kept = np.sort(order[round(val_fraction * len(texts)) :])
    train_texts = [texts[i] for i in kept]
    val_texts = [texts[i] for i in held_out]
    vocabulary = CharVocabulary.build(train_texts, max_tokens=vocab_size)
    digest = hashlib.sha256()
    for part in (splits.fingerprint(), held_out.tobytes(), "\x00".join(vocabulary.tokens)):
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
    return PretrainingText(
        vocabulary=vocabulary,
        train_texts=train_texts,
        val_texts=val_texts,
        train_ids=vocabulary.encode_stream(train_texts),
        val_ids=vocabulary.encode_stream(val_texts),
        splits=splits,
        fingerprint=digest.hexdigest()[:12],
    )


def few_labels(labels: np.ndarray, count: int, seed: int = SEED) -> np.ndarray:
    """Indices of ``count`` examples drawn from ``labels``, each class in its share.

    Returns:
        Sorted ``int64`` indices, shape ``(count,)``.
    """
    labels = np.asarray(labels)
    count = _check_int(count, "count")
    if labels.ndim != 1 or count > len(labels):
        raise ValueError(
            f"labels must be 1-D with at least count={count} entries, got shape {labels.shape}"
        )
    rng = np.random.default_rng([_check_int(seed, "seed", minimum=0), 3])
    classes, sizes = np.unique(labels, return_counts=True)
    wanted = np.floor(sizes / sizes.sum() * count).astype(int)
    wanted[: count - wanted.sum()] += 1  # the remainder, one each, to the first classes
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=size, replace=False)
        for label, size in zip(classes, wanted, strict=True)
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


# --- batches ----------------------------------------------------------------------------


def batch_offsets(
    num_tokens: int, context: int, batch_size: int, steps: int, seed: int = SEED
) -> np.ndarray:
    """Where every training window starts, step by step, drawn from ``seed``.

    A window of ``context + 1`` tokens gives the inputs (its first ``context``) and the
    targets (its last ``context``: each input's next token).

    Returns:
        ``int64`` array ``(steps, batch_size)`` of offsets in ``[0, num_tokens - context)``.
    """
    num_tokens = _check_int(num_tokens, "num_tokens")
    context = _check_int(context, "context")
    if num_tokens <= context:
        raise ValueError(f"num_tokens ({num_tokens}) must exceed context ({context})")
    shape = (_check_int(steps, "steps"), _check_int(batch_size, "batch_size"))
    rng = np.random.default_rng([_check_int(seed, "seed", minimum=0), 4])
    return rng.integers(0, num_tokens - context, size=shape, dtype=np.int64)


def get_batch(ids: np.ndarray, offsets: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-token targets for windows of ``ids`` starting at ``offsets``.

    Args:
        ids: the token stream, 1-D.
        offsets: 1-D starts, each at most ``len(ids) - context - 1``.
        context: window length.

    Returns:
        ``(inputs, targets)``, both ``int32`` ``(len(offsets), context)``;
        ``targets[:, t] == inputs[:, t + 1]`` for ``t < context - 1``.
    """
    ids, offsets = np.asarray(ids), np.asarray(offsets)
    if ids.ndim != 1 or offsets.ndim != 1:
        raise ValueError(f"ids and offsets must be 1-D, got {ids.shape} and {offsets.shape}")
    context = _check_int(context, "context")
    if offsets.size and (offsets.min() < 0 or offsets.max() + context >= len(ids)):
        raise ValueError(f"offsets must lie in [0, {len(ids) - context - 1}] for context {context}")
    positions = offsets[:, None] + np.arange(context)
    return ids[positions].astype(np.int32), ids[positions + 1].astype(np.int32)


def eval_windows(
    ids: np.ndarray, context: int, max_windows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The stream cut into consecutive, non-overlapping windows (the first ``max_windows``).

    Returns:
        ``(inputs, targets)``, both ``int32`` ``(windows, context)``.
    """
    ids = np.asarray(ids)
    context = _check_int(context, "context")
    count = (len(ids) - 1) // context
    if max_windows is not None:
        count = min(count, _check_int(max_windows, "max_windows"))
    if count < 1:
        raise ValueError(f"ids holds {len(ids)} tokens, too few for one window of {context}")
    return get_batch(ids, np.arange(count) * context, context)


def example_batches(num_examples: int, batch_size: int, steps: int, seed: int = SEED) -> np.ndarray:
    """Indices of the examples of every fine-tuning step: one shuffled pass after another.

    Returns:
        ``int64`` array ``(steps, batch_size)``; each pass over the ``num_examples`` is
        a new permutation drawn from ``seed``, and batches do not straddle two passes.
    """
    num_examples = _check_int(num_examples, "num_examples")
    batch_size = _check_int(batch_size, "batch_size")
    steps = _check_int(steps, "steps")
    if batch_size > num_examples:
        raise ValueError(f"batch_size ({batch_size}) must not exceed num_examples ({num_examples})")
    rng = np.random.default_rng([_check_int(seed, "seed", minimum=0), 6])
    per_pass = num_examples // batch_size
    passes = -(-steps // per_pass)
    rows = [
        rng.permutation(num_examples)[: per_pass * batch_size].reshape(per_pass, batch_size)
        for _ in range(passes)
    ]
    return np.concatenate(rows)[:steps].astype(np.int64)


def learning_rates(steps: int, peak: float, warmup: int, final_fraction: float = 0.1) -> np.ndarray:
    """The step size of every step: a linear warm-up to ``peak``, then a cosine decay.

    Returns:
        ``float64`` array ``(steps,)``, ending at ``final_fraction * peak``.
    """
    steps = _check_int(steps, "steps")
    warmup = _check_int(warmup, "warmup", minimum=0)
    if not peak > 0:
        raise ValueError(f"peak must be > 0, got {peak!r}")
    if warmup >= steps:
        raise ValueError(f"warmup ({warmup}) must be shorter than steps ({steps})")
    step = np.arange(steps, dtype=np.float64)
    progress = np.clip((step - warmup) / max(steps - 1 - warmup, 1), 0.0, 1.0)
    cosine = final_fraction + (1 - final_fraction) * 0.5 * (1 + np.cos(np.pi * progress))
    return peak * np.where(step < warmup, (step + 1) / max(warmup, 1), cosine)


# --- yardsticks ---------------------------------------------------------------------------


def unigram_loss(
    train_ids: np.ndarray, targets: np.ndarray, vocab_size: int, smoothing: float = 1.0
) -> float:
    """Cross-entropy (nats per token) of ``targets`` under the training text's token frequencies.

    The model that ignores the context and always predicts how often each character
    occurs: a language model that has learnt anything beats it. ``smoothing`` is added
    to every count, so a token unseen in training costs a finite loss.
    """
    train_ids, targets = np.asarray(train_ids).ravel(), np.asarray(targets).ravel()
    vocab_size = _check_int(vocab_size, "vocab_size")
    if not train_ids.size or not targets.size:
        raise ValueError("train_ids and targets must not be empty")
    if max(train_ids.max(), targets.max()) >= vocab_size or min(train_ids.min(), targets.min()) < 0:
        raise ValueError(f"ids must lie in [0, vocab_size={vocab_size})")
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing!r}")
    counts = np.bincount(train_ids, minlength=vocab_size) + smoothing
    with np.errstate(divide="ignore"):  # without smoothing, an unseen token costs inf
        log_probabilities = np.log(counts) - np.log(counts.sum())
    return float(-log_probabilities[targets].mean())


def bits_per_char(nats: float) -> float:
    """A loss in nats per character, in bits per character (divide by ln 2)."""
    return float(nats) / math.log(2)


@dataclass(frozen=True)
class PowerLaw:
    """``loss = offset + scale * parameters ** -exponent`` (``offset`` 0 without one)."""

    exponent: float
    scale: float
    offset: float
    squared_error: float  # sum of squared residuals, in loss units
    with_offset: bool

    def predict(self, parameters: np.ndarray | float) -> np.ndarray:
        return self.offset + self.scale * np.asarray(parameters, np.float64) ** -self.exponent


def _fit_line(parameters: np.ndarray, losses: np.ndarray, offset: float) -> PowerLaw:
    slope, intercept = np.polyfit(np.log(parameters), np.log(losses - offset), 1)
    law = PowerLaw(-float(slope), float(np.exp(intercept)), offset, 0.0, offset > 0)
    error = float(np.sum((law.predict(parameters) - losses) ** 2))
    return PowerLaw(law.exponent, law.scale, offset, error, offset > 0)


def fit_power_law(
    parameters: Sequence[float], losses: Sequence[float], offset_gain: float = 2.0
) -> PowerLaw:
    """Fit ``loss = scale * N**-exponent``, and ``loss = offset + scale * N**-exponent``.

    Without an offset, the fit is a straight line through ``(log N, log loss)``. With
    one, every offset on a fine grid in ``[0, min(losses))`` is tried and the line
    through ``(log N, log(loss - offset))`` with the smallest squared error (in loss
    units) kept. The offset costs a parameter, and with a handful of points it always
    fits at least as well; it is chosen only if it divides the squared error by at
    least ``offset_gain``.

    Args:
        parameters: model sizes ``N`` (e.g. non-embedding parameters), at least 3, > 0.
        losses: their losses, > 0.
        offset_gain: how much better the offset fit must be to be chosen (>= 1).

    Returns:
        The chosen :class:`PowerLaw`.
    """
    parameters = np.asarray(parameters, np.float64)
    losses = np.asarray(losses, np.float64)
    if parameters.shape != losses.shape or parameters.ndim != 1 or len(parameters) < 3:
        raise ValueError(
            "parameters and losses must be 1-D of the same length, at least 3 points; "
            f"got shapes {parameters.shape} and {losses.shape}"
        )
    if (parameters <= 0).any() or (losses <= 0).any():
        raise ValueError("parameters and losses must all be > 0 (they are fitted in logs)")
    if offset_gain < 1:
        raise ValueError(f"offset_gain must be >= 1, got {offset_gain!r}")
    plain = _fit_line(parameters, losses, 0.0)
    offsets = np.linspace(0.0, losses.min(), 2001)[1:-1]
    best = min(
        (_fit_line(parameters, losses, offset) for offset in offsets),
        key=lambda law: law.squared_error,
    )
    return best if best.squared_error * offset_gain <= plain.squared_error else plain


# --- sampling -------------------------------------------------------------------------------


def sample_next(
    logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator
) -> int:
    """Draw one token id from ``logits`` (1-D), sharpened by ``temperature``, among the ``top_k``.

    ``temperature`` < 1 makes likely tokens likelier, > 1 flattens the distribution;
    ``top_k`` keeps only the ``top_k`` highest logits (``None``: all of them).
    """
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 1:
        raise ValueError(f"logits must be 1-D (one score per token), got shape {logits.shape}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if top_k is not None:
        top_k = min(_check_int(top_k, "top_k"), logits.size)
        threshold = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= threshold, logits, -np.inf)
    scaled = logits / temperature
    probabilities = np.exp(scaled - scaled.max())
    return int(rng.choice(logits.size, p=probabilities / probabilities.sum()))


def generate(
    next_logits: Callable[[np.ndarray], np.ndarray],
    prompt_ids: Sequence[int] | np.ndarray,
    new_tokens: int,
    context: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = SEED,
    stop_id: int | None = None,
) -> np.ndarray:
    """Extend ``prompt_ids`` one sampled token at a time.

    Args:
        next_logits: maps ids ``(1, T)`` (``T <= context``) to the logits of the token
            after them, 1-D ``(vocab_size,)``; each twin passes its model's.
        prompt_ids: the start, at least one id.
        new_tokens: how many tokens to add.
        context: the model reads at most the last ``context`` ids.
        temperature, top_k: as in :func:`sample_next`.
        seed: seed of the draws.
        stop_id: stop early after sampling this id (e.g. ``EOS_ID``).

    Returns:
        ``int32`` ids: the prompt followed by the sampled tokens.
    """
    ids = [int(i) for i in np.asarray(prompt_ids).ravel()]
    if not ids:
        raise ValueError("prompt_ids must hold at least one id")
    rng = np.random.default_rng([_check_int(seed, "seed", minimum=0), 5])
    for _ in range(_check_int(new_tokens, "new_tokens", minimum=0)):
        window = np.array([ids[-_check_int(context, "context") :]], dtype=np.int32)
        ids.append(sample_next(next_logits(window), temperature, top_k, rng))
        if ids[-1] == stop_id:
            break
    return np.array(ids, dtype=np.int32)
