"""The all-MiniLM-L6-v2 encoder in Keras 3, built from our own layers, with LoRA.

The twin of :mod:`utils.minilm_torch` (same public names and parameters). The encoder
is written with Keras's own ``Embedding``, ``Dense`` and ``LayerNormalization`` layers,
so a learner sees every step of a BERT block, and so that LoRA is one call:
``Dense.enable_lora(rank)`` freezes the layer's kernel and adds the trainable low-rank
update ``x @ A @ B`` scaled by ``alpha / rank`` (Hu et al., 2021). :func:`add_lora`
calls it on the chosen projections and sets the adapters' starting values to those the
PyTorch twin uses.

(keras-hub's ``BertBackbone`` could hold the same weights; our own layers keep the
course's pins short and name every weight the way the PyTorch twin does.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from utils import config, minilm

config.quiet_tensorflow()  # must run before TensorFlow is imported

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

__all__ = [
    "MiniLMEncoder",
    "SentenceClassifier",
    "add_lora",
    "encode",
    "fit",
    "minilm_encoder",
    "predict_proba",
    "sentence_classifier",
]


class TransformerBlock(keras.layers.Layer):
    """One encoder block: self-attention, then a feed-forward network (post-norm, as BERT)."""

    def __init__(self, config: minilm.MiniLMConfig, dropout: float, **kwargs) -> None:
        super().__init__(**kwargs)
        hidden, inner = config.hidden_size, config.intermediate_size
        self.num_heads, self.head_size = config.num_heads, config.head_size
        self.query = keras.layers.Dense(hidden, name="query")
        self.key = keras.layers.Dense(hidden, name="key")
        self.value = keras.layers.Dense(hidden, name="value")
        self.attention_output = keras.layers.Dense(hidden, name="attention_output")
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=config.layer_norm_eps, name="attention_norm"
        )
        self.intermediate = keras.layers.Dense(inner, name="intermediate")
        self.output_dense = keras.layers.Dense(hidden, name="output")
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=config.layer_norm_eps, name="output_norm"
        )
        self.dropout = keras.layers.Dropout(dropout)
        self.hidden, self.inner = hidden, inner

    def build(self, input_shape) -> None:
        for layer in (self.query, self.key, self.value, self.attention_output, self.intermediate):
            layer.build((None, None, self.hidden))
        self.output_dense.build((None, None, self.inner))
        self.attention_norm.build((None, None, self.hidden))
        self.output_norm.build((None, None, self.hidden))

    def split_heads(self, x):
        """(B, T, H) -> (B, heads, T, head_size)."""
        batch, steps = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, steps, self.num_heads, self.head_size))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, x, padding_mask, training=None):
        query, key, value = (
            self.split_heads(layer(x)) for layer in (self.query, self.key, self.value)
        )
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2))) / math.sqrt(self.head_size)
        # padding must receive no attention: a large negative score gives it weight 0
        keep = ops.cast(padding_mask[:, None, None, :], scores.dtype)
        scores = scores * keep + (1.0 - keep) * -1e9
        weights = ops.softmax(scores, axis=-1)  # (B, heads, T, T)
        context = ops.matmul(self.dropout(weights, training=training), value)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), ops.shape(x))
        attended = self.dropout(self.attention_output(context), training=training)
        x = self.attention_norm(x + attended)
        inner = keras.activations.gelu(self.intermediate(x), approximate=False)  # exact, as BERT
        x = self.output_norm(x + self.dropout(self.output_dense(inner), training=training))
        return x, weights


class MiniLMEncoder(keras.layers.Layer):
    """Word-piece ids and padding mask, both ``(B, T)`` -> last hidden states ``(B, T, 384)``."""

    def __init__(self, config: minilm.MiniLMConfig, dropout: float = 0.1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        hidden = config.hidden_size
        self.word_embeddings = keras.layers.Embedding(config.vocab_size, hidden)
        self.position_embeddings = keras.layers.Embedding(config.max_positions, hidden)
        self.token_type_embeddings = keras.layers.Embedding(config.type_vocab_size, hidden)
        self.embeddings_norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)
        self.dropout = keras.layers.Dropout(dropout)
        self.blocks = [
            TransformerBlock(config, dropout, name=f"block{index}")
            for index in range(config.num_layers)
        ]

    def build(self, input_shape=None) -> None:
        for embedding in (
            self.word_embeddings,
            self.position_embeddings,
            self.token_type_embeddings,
        ):
            embedding.build((None, None))
        self.embeddings_norm.build((None, None, self.config.hidden_size))
        for block in self.blocks:
            block.build((None, None, self.config.hidden_size))

    def call(self, token_ids, padding_mask, return_attention=False, training=None):
        positions = ops.arange(ops.shape(token_ids)[1])
        # one segment only: every piece has token type 0
        x = (
            self.word_embeddings(token_ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings.embeddings[0]
        )
        x = self.dropout(self.embeddings_norm(x), training=training)
        attention = []
        for block in self.blocks:
            x, weights = block(x, padding_mask, training=training)
            attention.append(weights)
        return (x, attention) if return_attention else x


def _load_weights(encoder: MiniLMEncoder, weights: dict[str, np.ndarray]) -> None:
    layers = {
        "word_embeddings": encoder.word_embeddings,
        "position_embeddings": encoder.position_embeddings,
        "token_type_embeddings": encoder.token_type_embeddings,
        "embeddings_norm": encoder.embeddings_norm,
    }
    for index, block in enumerate(encoder.blocks):
        for name in minilm.BLOCK_DENSE_LAYERS:
            layers[f"block{index}.{name}"] = (
                block.output_dense if name == "output" else getattr(block, name)
            )
        layers[f"block{index}.attention_norm"] = block.attention_norm
        layers[f"block{index}.output_norm"] = block.output_norm
    loaded = 0
    for name, value in weights.items():
        layer_name, _, variable = name.rpartition(".")
        if name.endswith("_embeddings"):
            layers[name].embeddings.assign(value)
        else:
            getattr(layers[layer_name], variable).assign(value)
        loaded += value.size
    expected = sum(int(np.prod(weight.shape)) for weight in encoder.weights)
    if loaded != expected:
        raise RuntimeError(f"loaded {loaded} numbers into an encoder of {expected}")


def minilm_encoder(dropout: float = 0.1, trainable: bool = True) -> MiniLMEncoder:
    """Build the MiniLM encoder and load its pretrained weights (offline).

    Args:
        dropout: dropout rate inside the encoder during training (BERT's is 0.1).
        trainable: ``False`` freezes every weight (``layer.trainable = False``).

    Returns:
        A built :class:`MiniLMEncoder`, 22,565,376 weights (the checkpoint's pooler,
        unused by sentence-transformers, is left out).
    """
    if not isinstance(trainable, bool):
        raise TypeError(f"trainable must be True or False, got {trainable!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    encoder = MiniLMEncoder(minilm.minilm_config(), dropout, name="minilm")
    encoder.build()
    _load_weights(encoder, minilm.minilm_weights())
    encoder.trainable = trainable
    return encoder


def _mean_pool(hidden, mask):
    mask = ops.cast(mask, hidden.dtype)[..., None]
    return ops.sum(hidden * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1e-9)


class SentenceClassifier(keras.Model):
    """Encoder, mean pooling, L2 normalisation, one linear logit: ``(B, T)`` -> ``(B, 1)``.

    Called on a pair ``(token_ids, padding_mask)``, as ``model.fit`` hands it over. The
    head reads the sentence embedding of sentence-transformers (the normalised mean of the
    last hidden states over the real word pieces), so a linear probe fitted on
    :func:`encode`'s features can be its starting point.
    """

    def __init__(
        self,
        encoder: MiniLMEncoder,
        head_seed: int,
        head: tuple[np.ndarray, np.ndarray] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.head = keras.layers.Dense(1, name="head")
        self.head.build((None, encoder.config.hidden_size))
        kernel, bias = head or minilm.head_init(head_seed, encoder.config.hidden_size)
        self.head.kernel.assign(kernel)
        self.head.bias.assign(bias)

    def call(self, inputs, training=None):
        token_ids, padding_mask = inputs
        hidden = self.encoder(token_ids, padding_mask, training=training)
        return self.head(ops.normalize(_mean_pool(hidden, padding_mask), axis=-1))


def sentence_classifier(
    encoder: MiniLMEncoder | None = None,
    head_seed: int = 0,
    dropout: float = 0.1,
    head: tuple[np.ndarray, np.ndarray] | None = None,
) -> SentenceClassifier:
    """A binary classifier on MiniLM: normalised mean-pooled sentence embedding -> one logit.

    Args:
        encoder: the encoder to build on; ``None`` loads a fresh pretrained one.
        head_seed: seed of the head's starting weights (:func:`utils.minilm.head_init`),
            so that the PyTorch twin's head starts from the same numbers.
        dropout: dropout in a freshly loaded encoder (ignored when ``encoder`` is given).
        head: ``(kernel (H, 1), bias (1,))`` to start the head from instead, e.g.
            :func:`utils.minilm.head_from_linear_model` of a linear probe.
    """
    if encoder is None:
        encoder = minilm_encoder(dropout=dropout)
    if not isinstance(encoder, MiniLMEncoder):
        raise TypeError(f"encoder must be a MiniLMEncoder, got {type(encoder).__name__}")
    head = minilm.check_head(head, encoder.config.hidden_size)
    model = SentenceClassifier(encoder, head_seed, head)
    model((np.zeros((1, 8), np.int32), np.ones((1, 8), np.int32)))  # build
    return model


def add_lora(
    model: keras.Model | keras.layers.Layer,
    rank: int = 8,
    targets: Sequence[str] = ("query", "value"),
    alpha: float | None = None,
    seed: int = 0,
) -> keras.Model | keras.layers.Layer:
    """Freeze the encoder of ``model`` and give the ``targets`` projections LoRA adapters.

    Calls Keras's own ``Dense.enable_lora(rank, lora_alpha)`` on each target, which
    freezes the kernel and adds ``lora_kernel_a`` ``(in, rank)`` and ``lora_kernel_b``
    ``(rank, out)``; the biases are frozen too, as in the PyTorch twin.

    Args:
        model: a :class:`SentenceClassifier` (its head stays trainable) or a
            :class:`MiniLMEncoder`.
        rank: the rank ``r`` of each update.
        targets: names from :data:`utils.minilm.LORA_TARGETS`, adapted in every block.
        alpha: the update is scaled by ``alpha / rank``; ``None`` means ``alpha = rank``
            (scale 1), Keras's default.
        seed: seed of the adapters' starting values (:func:`utils.minilm.lora_init`).

    Returns:
        The same model, changed in place.
    """
    targets = minilm.check_lora_args(rank, targets)
    encoder = model.encoder if isinstance(model, SentenceClassifier) else model
    if not isinstance(encoder, MiniLMEncoder):
        raise TypeError(
            f"model must be a SentenceClassifier or MiniLMEncoder, got {type(model).__name__}"
        )
    for owner in (model, encoder):  # compiled inference graphs predate the adapters
        owner.__dict__.pop("_ailm_forward", None)
    encoder.trainable = True
    for variable in encoder.weights:
        variable.trainable = False  # frozen variable by variable: the adapters stay trainable
    for index, block in enumerate(encoder.blocks):
        for name in targets:
            # the feed-forward network's second layer is ``output_dense`` here: ``output``
            # is a property of every Keras layer
            dense = getattr(block, "output_dense" if name == "output" else name)
            if dense.lora_enabled:
                raise ValueError(f"block {index} {name} already has a LoRA adapter")
            dense.enable_lora(rank, lora_alpha=alpha or rank)
            lora_a, lora_b = minilm.lora_init(seed, index, name, rank, *dense.kernel.shape)
            dense.lora_kernel_a.assign(lora_a)
            dense.lora_kernel_b.assign(lora_b)
    return model


def _dataset(batches: Sequence[minilm.Batch]) -> tf.data.Dataset:
    """The batches, in their order, as ``((token_ids, padding_mask), labels)``."""

    def generate():
        for batch in batches:
            yield (batch.token_ids, batch.mask), batch.labels

    matrix = tf.TensorSpec((None, None), tf.int32)
    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=((matrix, matrix), tf.TensorSpec((None,), tf.int32))
    )
    # a known length lets Keras end the epoch without an "ran out of data" warning
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


def fit(
    model: keras.Model,
    batches: Sequence[minilm.Batch],
    learning_rate: float,
    weight_decay: float = 0.01,
    verbose: bool = True,
) -> dict[str, float]:
    """Train a classifier for one pass over ``batches`` with AdamW and a linear decay.

    ``model.compile`` with ``AdamW`` whose learning rate falls linearly from
    ``learning_rate`` to 0 over the batches (``PolynomialDecay(power=1)``), then
    ``model.fit`` for one epoch over the batches in their order (no shuffling here:
    :func:`utils.minilm.make_batches` has shuffled them, the same way as for PyTorch).

    Args:
        model: returns one logit per text, ``(B, 1)``, from ``(token_ids, padding_mask)``.
        batches: from :func:`utils.minilm.make_batches`, in training order.
        learning_rate: AdamW's starting step size.
        weight_decay: AdamW's decoupled weight decay.
        verbose: print one summary line at the end of the pass.

    Returns:
        ``{"loss": mean training loss, "seconds": wall time, "steps": batches}``.
    """
    if not batches:
        raise ValueError("batches is empty")
    schedule = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, decay_steps=len(batches), end_learning_rate=0.0, power=1.0
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=schedule, weight_decay=weight_decay, epsilon=1e-7
        ),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    history = model.fit(_dataset(batches), epochs=1, shuffle=False, verbose=2 if verbose else 0)
    return {
        "loss": float(history.history["loss"][-1]),
        "seconds": time.perf_counter() - start,
        "steps": len(batches),
    }


_MATRIX = tf.TensorSpec((None, None), tf.int32)


def predict_proba(model: keras.Model, batches: Sequence[minilm.Batch]) -> np.ndarray:
    """Probability of class 1 for every text, in the order of ``batches``: float32 ``(N,)``."""
    cache = model.__dict__.setdefault("_ailm_forward", {})
    if "proba" not in cache:
        # one graph for every batch shape (model.predict would trace one per shape)
        @tf.function(input_signature=[_MATRIX, _MATRIX])
        def forward(token_ids, padding_mask):
            return ops.sigmoid(model((token_ids, padding_mask), training=False)[:, 0])

        cache["proba"] = forward
    forward = cache["proba"]
    outputs = [np.asarray(forward(batch.token_ids, batch.mask)) for batch in batches]
    return np.concatenate(outputs).astype(np.float32)


def _compiled_forward(encoder: MiniLMEncoder, pooled: bool):
    """The encoder's inference pass as one TensorFlow graph for any batch shape (cached)."""
    cache = encoder.__dict__.setdefault("_ailm_forward", {})
    if pooled not in cache:

        @tf.function(input_signature=[_MATRIX, _MATRIX])
        def forward(token_ids, padding_mask):
            hidden = encoder(token_ids, padding_mask, training=False)
            if pooled:
                return ops.normalize(_mean_pool(hidden, padding_mask), axis=-1)
            return hidden

        cache[pooled] = forward
    return cache[pooled]


def encode(
    encoder: MiniLMEncoder, batches: Sequence[minilm.Batch], pooled: bool = True
) -> np.ndarray | list[np.ndarray]:
    """Run the encoder over ``batches`` (inference mode: dropout off).

    Args:
        encoder: a :class:`MiniLMEncoder`.
        batches: from :func:`utils.minilm.make_batches` (``shuffle=False`` keeps the order).
        pooled: ``True`` gives mean-pooled, L2-normalised sentence embeddings; ``False``
            the last hidden states.

    Returns:
        float32 ``(N, 384)`` when pooled, else one ``(B, T, 384)`` array per batch.
    """

    forward = _compiled_forward(encoder, pooled)
    outputs = [np.asarray(forward(batch.token_ids, batch.mask)) for batch in batches]
    return np.concatenate(outputs) if pooled else outputs
