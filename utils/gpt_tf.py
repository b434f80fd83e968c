"""A small GPT in Keras 3: the model, its training loops and sampling.

The twin of :mod:`utils.gpt_torch` (the same public names and parameters); the
framework-free parts (data, batches, starting weights, learning rates, sampling) live in
:mod:`utils.gpt`. The model is a decoder-only transformer in the style of GPT-2
(Radford et al., 2019), written with Keras's own layers: learned position embeddings,
pre-norm blocks of causal self-attention (``keras.layers.MultiHeadAttention`` called
with ``use_causal_mask=True``) and a GELU feed-forward network, a final layer norm, and
an output layer *tied* to the token embedding (the logits are the hidden states times
the embedding matrix, transposed), so the output layer adds no weights.

Training runs a custom step compiled by ``tf.function`` (the optimiser is Keras's
``AdamW``); the learning rate of each step is set from :func:`utils.gpt.learning_rates`,
the same numbers as the PyTorch twin's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from utils import config as course_config
from utils import gpt
from utils.config import SEED
from utils.text import PAD_ID

course_config.quiet_tensorflow()  # must run before TensorFlow is imported

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from utils import tf_helpers  # noqa: E402, F401 (applies AILM_NUM_THREADS before any op runs)

__all__ = [
    "GPT",
    "Classifier",
    "build_classifier",
    "build_model",
    "count_parameters",
    "evaluate_loss",
    "generate",
    "get_weights",
    "logits",
    "predict_proba",
    "set_weights",
    "train_classifier",
    "train_language_model",
]

BETAS = (0.9, 0.95)  # AdamW's moment decays, as in GPT-3
EPSILON = 1e-8  # PyTorch's default (Keras's is 1e-7): the twins use the same
LAYER_NORM_EPSILON = 1e-5  # PyTorch's default (Keras's is 1e-3)
JIT_COMPILE = True  # XLA: measured faster for these small models on a CPU

_IDS = tf.TensorSpec((None, None), tf.int32)


class Block(keras.layers.Layer):
    """Pre-norm transformer block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, config: gpt.GPTConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width = config.width
        self.attention_norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)
        self.attention = keras.layers.MultiHeadAttention(config.heads, config.head_size)
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)
        self.mlp_in = keras.layers.Dense(4 * config.width)
        self.mlp_out = keras.layers.Dense(config.width)

    def build(self, input_shape=None) -> None:
        shape = (None, None, self.width)
        self.attention_norm.build(shape)
        self.attention.build(shape, shape)
        self.mlp_norm.build(shape)
        self.mlp_in.build(shape)
        self.mlp_out.build((None, None, 4 * self.width))

    def call(self, x, training=None):
        normed = self.attention_norm(x)
        # use_causal_mask: position t attends to positions 0..t only, never to the future
        x = x + self.attention(normed, normed, use_causal_mask=True, training=training)
        inner = keras.activations.gelu(self.mlp_in(self.mlp_norm(x)), approximate=False)
        return x + self.mlp_out(inner)


class GPT(keras.Model):
    """Token ids ``(batch, steps)``, ``steps <= context`` -> logits ``(batch, steps, vocab)``."""

    def __init__(self, config: gpt.GPTConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.token_embedding = keras.layers.Embedding(config.vocab_size, config.width)
        self.position_embedding = keras.layers.Embedding(config.context, config.width)
        self.blocks = [Block(config, name=f"block{index}") for index in range(config.depth)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)

    def build(self, input_shape=None) -> None:
        self.token_embedding.build((None, None))
        self.position_embedding.build((None,))
        for block in self.blocks:
            block.build()
        self.final_norm.build((None, None, self.config.width))

    def features(self, token_ids, training=None):
        """The last hidden states, after the final layer norm: ``(batch, steps, width)``."""
        positions = ops.arange(ops.shape(token_ids)[1])
        x = self.token_embedding(token_ids) + self.position_embedding(positions)[None]
        for block in self.blocks:
            x = block(x, training=training)
        return self.final_norm(x)

    def call(self, token_ids, training=None):
        hidden = self.features(token_ids, training=training)
        return ops.matmul(hidden, ops.transpose(self.token_embedding.embeddings))  # tied


class Classifier(keras.Model):
    """A GPT's features, averaged over the non-padding positions, -> one logit ``(batch,)``.

    Padding (id 0) comes after the text, and attention is causal, so no real position
    ever attends to padding: the mean over real positions ignores it entirely.
    """

    def __init__(self, trunk: GPT, pooling: str = "mean", **kwargs) -> None:
        super().__init__(**kwargs)
        self.trunk = trunk
        self.pooling = pooling
        self.head = keras.layers.Dense(1)
        self.head.build((None, trunk.config.width))

    def call(self, token_ids, training=None):
        hidden = self.trunk.features(token_ids, training=training)
        real = ops.not_equal(token_ids, PAD_ID)
        if self.pooling == "last":
            last = ops.maximum(ops.sum(ops.cast(real, "int32"), axis=1), 1) - 1
            pooled = ops.take_along_axis(hidden, last[:, None, None], axis=1)[:, 0]
        else:
            mask = ops.cast(real, hidden.dtype)[..., None]
            pooled = ops.sum(hidden * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
        return self.head(pooled)[:, 0]


def _variables(model: GPT | Classifier) -> dict[str, tuple[keras.Variable, tuple[int, ...]]]:
    """Name of :func:`utils.gpt.weight_shapes` -> (Keras variable, its own shape)."""
    if isinstance(model, Classifier):
        found = _variables(model.trunk)
        found["head.kernel"] = (model.head.kernel, tuple(model.head.kernel.shape))
        found["head.bias"] = (model.head.bias, tuple(model.head.bias.shape))
        return found
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a GPT or a Classifier, got {type(model).__name__}")
    found = {
        "token_embedding": model.token_embedding.embeddings,
        "position_embedding": model.position_embedding.embeddings,
        "final_norm.gamma": model.final_norm.gamma,
        "final_norm.beta": model.final_norm.beta,
    }
    for index, block in enumerate(model.blocks):
        attention = block.attention
        dense = {
            "query": attention.query_dense,
            "key": attention.key_dense,
            "value": attention.value_dense,
            "attention_output": attention.output_dense,
            "mlp_in": block.mlp_in,
            "mlp_out": block.mlp_out,
        }
        for name, layer in dense.items():
            found[f"block{index}.{name}.kernel"] = layer.kernel
            found[f"block{index}.{name}.bias"] = layer.bias
        for name in ("attention_norm", "mlp_norm"):
            found[f"block{index}.{name}.gamma"] = getattr(block, name).gamma
            found[f"block{index}.{name}.beta"] = getattr(block, name).beta
    # MultiHeadAttention keeps its projections per head: (width, heads, head_size) etc.
    return {name: (variable, tuple(variable.shape)) for name, variable in found.items()}


def set_weights(model: GPT | Classifier, weights: dict[str, np.ndarray]) -> None:
    """Load weights named and shaped as :func:`utils.gpt.weight_shapes` (Keras's layout).

    For a :class:`Classifier`, the trunk's weights and ``head.kernel`` / ``head.bias``.
    The attention projections are reshaped to MultiHeadAttention's per-head layout.
    """
    variables = _variables(model)
    if sorted(weights) != sorted(variables):
        missing = sorted(set(variables) - set(weights))
        extra = sorted(set(weights) - set(variables))
        raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {extra}")
    for name, value in weights.items():
        variable, shape = variables[name]
        value = np.asarray(value, np.float32)
        if value.size != int(np.prod(shape)):
            raise ValueError(f"{name}: expected {int(np.prod(shape))} numbers, got {value.shape}")
        variable.assign(value.reshape(shape))


def get_weights(model: GPT | Classifier) -> dict[str, np.ndarray]:
    """Every weight as a float32 numpy array, named and shaped as :func:`set_weights` takes."""
    if isinstance(model, Classifier):
        shapes = {**gpt.weight_shapes(model.trunk.config), "head.kernel": None, "head.bias": None}
    elif isinstance(model, GPT):
        shapes = gpt.weight_shapes(model.config)
    else:
        raise TypeError(f"model must be a GPT or a Classifier, got {type(model).__name__}")
    weights = {}
    for name, (variable, own_shape) in _variables(model).items():
        value = np.asarray(variable.numpy(), np.float32)
        weights[name] = value.reshape(shapes[name] or own_shape)
    return weights


def build_model(config: gpt.GPTConfig, seed: int = SEED) -> GPT:
    """A :class:`GPT` holding :func:`utils.gpt.init_weights` ``(config, seed)``."""
    if not isinstance(config, gpt.GPTConfig):
        raise TypeError(f"config must be a utils.gpt.GPTConfig, got {type(config).__name__}")
    model = GPT(config)
    model.build()
    set_weights(model, gpt.init_weights(config, seed))
    return model


def build_classifier(model: GPT, seed: int = SEED, pooling: str = "mean") -> Classifier:
    """A sentiment classifier on ``model`` (its weights are shared, not copied).

    The head is new, from :func:`utils.gpt.head_weights` ``(width, seed)``; it reads the
    mean of the features over the real positions (``pooling="mean"``) or the features
    at the last real position (``"last"``, which has attended to the whole text).
    """
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a GPT, got {type(model).__name__}")
    if pooling not in ("mean", "last"):
        raise ValueError(f"pooling must be 'mean' or 'last', got {pooling!r}")
    classifier = Classifier(model, pooling)
    head = gpt.head_weights(model.config.width, seed)
    classifier.head.kernel.assign(head["head.kernel"])
    classifier.head.bias.assign(head["head.bias"])
    return classifier


def count_parameters(model: keras.Model) -> int:
    """Number of weights (the tied output layer adds none)."""
    return int(sum(np.prod(variable.shape) for variable in model.weights))


def _ids(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"token ids must be a 2-D integer array, got {array.dtype} {array.shape}")
    return array.astype(np.int32)


def _compiled(model: keras.Model, key: str, make):
    """One ``tf.function`` per model and purpose, traced once for every batch shape."""
    cache = model.__dict__.setdefault("_ailm_compiled", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _forward(model: GPT):
    return _compiled(
        model,
        "forward",
        lambda: tf.function(lambda ids: model(ids, training=False), input_signature=[_IDS]),
    )


def logits(model: GPT, token_ids: np.ndarray) -> np.ndarray:
    """Logits for ``token_ids`` ``(batch, steps)``: float32 ``(batch, steps, vocab)``."""
    return np.asarray(_forward(model)(_ids(token_ids)))


def _token_losses(targets, scores):
    return keras.losses.sparse_categorical_crossentropy(targets, scores, from_logits=True)


def evaluate_loss(
    model: GPT, inputs: np.ndarray, targets: np.ndarray, batch_size: int = 64
) -> float:
    """Mean next-token cross-entropy (nats) over ``(inputs, targets)``, both ``(N, steps)``."""

    def make():
        @tf.function(input_signature=[_IDS, _IDS])
        def summed(ids, wanted):
            return ops.sum(_token_losses(wanted, model(ids, training=False)))

        return summed

    summed = _compiled(model, "summed_loss", make)
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        wanted = _ids(targets[start : start + batch_size])
        total += float(summed(_ids(inputs[start : start + batch_size]), wanted))
        count += wanted.size
    return total / count


def _optimizer(model: keras.Model, weight_decay: float) -> keras.optimizers.AdamW:
    # Keras's AdamW decays every variable, as the PyTorch twin's does
    optimizer = keras.optimizers.AdamW(
        learning_rate=0.0,
        weight_decay=weight_decay,
        beta_1=BETAS[0],
        beta_2=BETAS[1],
        epsilon=EPSILON,
    )
    optimizer.build(model.trainable_variables)
    return optimizer


def _train_step(model: keras.Model, optimizer, loss_fn):
    variables = model.trainable_variables

    @tf.function(jit_compile=JIT_COMPILE)
    def step(inputs, targets):
        with tf.GradientTape() as tape:
            loss = loss_fn(targets, model(inputs, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return step


def train_language_model(
    model: GPT,
    ids: np.ndarray,
    offsets: np.ndarray,
    rates: np.ndarray,
    weight_decay: float = 0.01,
    val_data: tuple[np.ndarray, np.ndarray] | None = None,
    eval_every: int = 0,
) -> dict[str, list[float]]:
    """Next-token prediction with AdamW, one step per row of ``offsets``.

    Args:
        model: the :class:`GPT` to train (in place).
        ids: the training stream, 1-D.
        offsets: ``(steps, batch)`` window starts from :func:`utils.gpt.batch_offsets`.
        rates: the learning rate of each step, ``(steps,)``, from :func:`utils.gpt.learning_rates`.
        weight_decay: AdamW's decoupled weight decay, applied to every weight.
        val_data: ``(inputs, targets)`` to measure the validation loss on.
        eval_every: measure it every this many steps and after the last (0: never).

    Returns:
        ``{"train_loss": per step, "val_step": [...], "val_loss": [...], "seconds": [total]}``.
    """
    offsets, rates = np.asarray(offsets), np.asarray(rates, np.float64)
    if offsets.ndim != 2 or rates.shape != (len(offsets),):
        raise ValueError(
            f"offsets must be (steps, batch) and rates (steps,), got {offsets.shape}, {rates.shape}"
        )
    optimizer = _optimizer(model, weight_decay)
    step_fn = _train_step(model, optimizer, lambda y, s: ops.mean(_token_losses(y, s)))
    history: dict[str, list[float]] = {"train_loss": [], "val_step": [], "val_loss": []}
    context = model.config.context
    start = time.perf_counter()
    for step, (row, rate) in enumerate(zip(offsets, rates, strict=True)):
        inputs, targets = gpt.get_batch(ids, row, context)
        optimizer.learning_rate.assign(rate)
        history["train_loss"].append(float(step_fn(inputs, targets)))
        last = step == len(offsets) - 1
        if val_data is not None and eval_every and ((step + 1) % eval_every == 0 or last):
            history["val_step"].append(step + 1)
            history["val_loss"].append(evaluate_loss(model, *val_data))
    history["seconds"] = [time.perf_counter() - start]
    return history


def train_classifier(
    classifier: Classifier,
    inputs: np.ndarray,
    labels: np.ndarray,
    batches: np.ndarray,
    rates: np.ndarray,
    weight_decay: float = 0.01,
) -> dict[str, list[float]]:
    """Fine-tune every weight of ``classifier`` with binary cross-entropy and AdamW.

    Args:
        classifier: from :func:`build_classifier`.
        inputs: padded token ids ``(N, steps)``; labels: 0/1, ``(N,)``.
        batches: ``(steps, batch)`` example indices from :func:`utils.gpt.example_batches`.
        rates: the learning rate of each step.
        weight_decay: AdamW's decoupled weight decay.

    Returns:
        ``{"train_loss": per step, "seconds": [total]}``.
    """
    batches, rates = np.asarray(batches), np.asarray(rates, np.float64)
    if batches.ndim != 2 or rates.shape != (len(batches),):
        raise ValueError(
            f"batches must be (steps, batch) and rates (steps,), got {batches.shape}, {rates.shape}"
        )
    optimizer = _optimizer(classifier, weight_decay)

    def loss_fn(wanted, scores):
        return ops.mean(ops.binary_crossentropy(wanted, scores, from_logits=True))

    step_fn = _train_step(classifier, optimizer, loss_fn)
    token_ids, targets = _ids(inputs), np.asarray(labels, np.float32)
    history: dict[str, list[float]] = {"train_loss": []}
    start = time.perf_counter()
    for rows, rate in zip(batches, rates, strict=True):
        optimizer.learning_rate.assign(rate)
        history["train_loss"].append(float(step_fn(token_ids[rows], targets[rows])))
    history["seconds"] = [time.perf_counter() - start]
    return history


def predict_proba(classifier: Classifier, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probability of class 1 for every row of ``inputs``: float32 ``(N,)``."""

    def make():
        return tf.function(
            lambda ids: ops.sigmoid(classifier(ids, training=False)), input_signature=[_IDS]
        )

    forward = _compiled(classifier, "proba", make)
    token_ids = _ids(inputs)
    outputs = [
        np.asarray(forward(token_ids[start : start + batch_size]))
        for start in range(0, len(token_ids), batch_size)
    ]
    return np.concatenate(outputs).astype(np.float32)


def generate(
    model: GPT,
    prompt_ids: Sequence[int] | np.ndarray,
    new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = SEED,
    stop_id: int | None = None,
) -> np.ndarray:
    """Sample a continuation of ``prompt_ids`` (see :func:`utils.gpt.generate`)."""
    forward = _forward(model)

    def next_logits(window: np.ndarray) -> np.ndarray:
        return np.asarray(forward(window))[0, -1]

    return gpt.generate(
        next_logits, prompt_ids, new_tokens, model.config.context, temperature, top_k, seed, stop_id
    )
