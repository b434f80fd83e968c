"""A small GPT in PyTorch: the model, its training loops and sampling.

The twin of :mod:`utils.gpt_tf` (the same public names and parameters); the framework-free
parts (data, batches, starting weights, learning rates, sampling) live in
:mod:`utils.gpt`. The model is a decoder-only transformer in the style of GPT-2
(Radford et al., 2019): learned position embeddings, pre-norm blocks of causal
self-attention (``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``)
and a GELU feed-forward network, a final layer norm, and an output layer *tied* to the
token embedding (the logits are the hidden states times the embedding matrix,
transposed), so the output layer adds no weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from utils import gpt
from utils.config import SEED
from utils.text import PAD_ID

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
EPSILON = 1e-8
LAYER_NORM_EPSILON = 1e-5


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, config: gpt.GPTConfig) -> None:
        super().__init__()
        width = config.width
        self.heads, self.head_size = config.heads, config.head_size
        self.attention_norm = nn.LayerNorm(width, eps=LAYER_NORM_EPSILON)
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.attention_output = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width, eps=LAYER_NORM_EPSILON)
        self.mlp_in = nn.Linear(width, 4 * width)
        self.mlp_out = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, width = x.shape
        normed = self.attention_norm(x)
        query, key, value = (
            layer(normed).view(batch, steps, self.heads, self.head_size).transpose(1, 2)
            for layer in (self.query, self.key, self.value)
        )  # each (batch, heads, steps, head_size)
        # is_causal: position t attends to positions 0..t only, never to the future
        attended = functional.scaled_dot_product_attention(query, key, value, is_causal=True)
        x = x + self.attention_output(attended.transpose(1, 2).reshape(batch, steps, width))
        return x + self.mlp_out(functional.gelu(self.mlp_in(self.mlp_norm(x))))


class GPT(nn.Module):
    """Token ids ``(batch, steps)``, ``steps <= context`` -> logits ``(batch, steps, vocab)``."""

    def __init__(self, config: gpt.GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.width)
        self.position_embedding = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.final_norm = nn.LayerNorm(config.width, eps=LAYER_NORM_EPSILON)

    def features(self, token_ids: torch.Tensor) -> torch.Tensor:
        """The last hidden states, after the final layer norm: ``(batch, steps, width)``."""
        steps = token_ids.shape[1]
        x = self.token_embedding(token_ids) + self.position_embedding.weight[:steps]
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.features(token_ids) @ self.token_embedding.weight.T  # tied output layer


class Classifier(nn.Module):
    """A GPT's features, averaged over the non-padding positions, -> one logit ``(batch,)``.

    Padding (id 0) comes after the text, and attention is causal, so no real position
    ever attends to padding: the mean over real positions ignores it entirely.
    """

    def __init__(self, trunk: GPT, pooling: str = "mean") -> None:
        super().__init__()
        self.trunk = trunk
        self.pooling = pooling
        self.head = nn.Linear(trunk.config.width, 1)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.trunk.features(token_ids)
        mask = (token_ids != PAD_ID).to(hidden.dtype)[..., None]
        if self.pooling == "last":
            last = (token_ids != PAD_ID).sum(dim=1).clamp(min=1) - 1
            pooled = hidden[torch.arange(len(token_ids)), last]
        else:
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)[:, 0]


def _parameter(module: nn.Module, name: str) -> tuple[nn.Parameter, bool]:
    """The tensor behind a name of :func:`utils.gpt.weight_shapes`; True if it is transposed."""
    path, _, leaf = name.rpartition(".")
    if not path:  # the embeddings
        return getattr(module, leaf).weight, False
    owner = module
    for part in path.replace("block", "blocks.", 1).split("."):
        owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
    tensor = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}[leaf]
    return getattr(owner, tensor), leaf == "kernel"


def set_weights(model: GPT | Classifier, weights: dict[str, np.ndarray]) -> None:
    """Load weights named and shaped as :func:`utils.gpt.weight_shapes` (Keras's layout).

    For a :class:`Classifier`, the trunk's weights and ``head.kernel`` / ``head.bias``.
    """
    expected = _names(model)
    if sorted(weights) != sorted(expected):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {extra}")
    with torch.no_grad():
        for name, value in weights.items():
            tensor, transposed = _lookup(model, name)
            value = np.asarray(value, np.float32)
            value = value.T if transposed else value
            if tuple(tensor.shape) != value.shape:
                raise ValueError(f"{name}: expected shape {tuple(tensor.shape)}, got {value.shape}")
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def get_weights(model: GPT | Classifier) -> dict[str, np.ndarray]:
    """Every weight as a float32 numpy array, named and shaped as :func:`set_weights` takes."""
    weights = {}
    for name in _names(model):
        tensor, transposed = _lookup(model, name)
        value = tensor.detach().cpu().numpy()
        weights[name] = np.array(value.T if transposed else value, np.float32)
    return weights


def _names(model: GPT | Classifier) -> list[str]:
    if isinstance(model, Classifier):
        return [*gpt.weight_shapes(model.trunk.config), "head.kernel", "head.bias"]
    if isinstance(model, GPT):
        return list(gpt.weight_shapes(model.config))
    raise TypeError(f"model must be a GPT or a Classifier, got {type(model).__name__}")


def _lookup(model: GPT | Classifier, name: str) -> tuple[nn.Parameter, bool]:
    if isinstance(model, Classifier):
        return _parameter(model, name) if name.startswith("head.") else _lookup(model.trunk, name)
    return _parameter(model, name)


def build_model(config: gpt.GPTConfig, seed: int = SEED) -> GPT:
    """A :class:`GPT` holding :func:`utils.gpt.init_weights` ``(config, seed)``."""
    if not isinstance(config, gpt.GPTConfig):
        raise TypeError(f"config must be a utils.gpt.GPTConfig, got {type(config).__name__}")
    model = GPT(config)
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
    with torch.no_grad():
        classifier.head.weight.copy_(torch.from_numpy(head["head.kernel"].T.copy()))
        classifier.head.bias.copy_(torch.from_numpy(head["head.bias"]))
    return classifier


def count_parameters(model: nn.Module) -> int:
    """Number of weights (the tied output layer adds none)."""
    return sum(parameter.numel() for parameter in model.parameters())


def _ids(array: np.ndarray) -> torch.Tensor:
    array = np.asarray(array)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"token ids must be a 2-D integer array, got {array.dtype} {array.shape}")
    return torch.from_numpy(array.astype(np.int64))


def logits(model: GPT, token_ids: np.ndarray) -> np.ndarray:
    """Logits for ``token_ids`` ``(batch, steps)``: float32 ``(batch, steps, vocab)``."""
    model.eval()
    with torch.no_grad():
        return model(_ids(token_ids)).numpy()


def evaluate_loss(
    model: GPT, inputs: np.ndarray, targets: np.ndarray, batch_size: int = 64
) -> float:
    """Mean next-token cross-entropy (nats) over ``(inputs, targets)``, both ``(N, steps)``."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            scores = model(_ids(inputs[start : start + batch_size]))
            wanted = _ids(targets[start : start + batch_size])
            total += functional.cross_entropy(
                scores.flatten(0, 1), wanted.flatten(), reduction="sum"
            ).item()
            count += wanted.numel()
    return total / count


def _optimizer(model: nn.Module, weight_decay: float) -> torch.optim.AdamW:
    # every weight decays, as in the Keras twin (Keras's AdamW decays all variables)
    return torch.optim.AdamW(
        model.parameters(), lr=0.0, betas=BETAS, eps=EPSILON, weight_decay=weight_decay
    )


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
    history: dict[str, list[float]] = {"train_loss": [], "val_step": [], "val_loss": []}
    context = model.config.context
    start = time.perf_counter()
    for step, (row, rate) in enumerate(zip(offsets, rates, strict=True)):
        model.train()
        inputs, targets = gpt.get_batch(ids, row, context)
        for group in optimizer.param_groups:
            group["lr"] = float(rate)
        loss = functional.cross_entropy(model(_ids(inputs)).flatten(0, 1), _ids(targets).flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history["train_loss"].append(loss.item())
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
    token_ids, targets = _ids(inputs), torch.from_numpy(np.asarray(labels, np.float32))
    history: dict[str, list[float]] = {"train_loss": []}
    classifier.train()
    start = time.perf_counter()
    for rows, rate in zip(batches, rates, strict=True):
        for group in optimizer.param_groups:
            group["lr"] = float(rate)
        index = torch.from_numpy(rows)
        loss = functional.binary_cross_entropy_with_logits(
            classifier(token_ids[index]), targets[index]
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history["train_loss"].append(loss.item())
    history["seconds"] = [time.perf_counter() - start]
    return history


def predict_proba(classifier: Classifier, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probability of class 1 for every row of ``inputs``: float32 ``(N,)``."""
    classifier.eval()
    with torch.no_grad():
        outputs = [
            torch.sigmoid(classifier(_ids(inputs[start : start + batch_size]))).numpy()
            for start in range(0, len(inputs), batch_size)
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
    model.eval()

    def next_logits(window: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(_ids(window))[0, -1].numpy()

    return gpt.generate(
        next_logits, prompt_ids, new_tokens, model.config.context, temperature, top_k, seed, stop_id
    )
