"""The all-MiniLM-L6-v2 encoder as a small PyTorch module of ours, with LoRA.

A BERT encoder is short enough to write out: an embedding layer, then six identical
blocks of self-attention and a feed-forward network, each followed by a residual
connection and layer normalisation. :class:`MiniLMEncoder` is that, in about eighty
lines that a learner can read next to the Keras twin (:mod:`utils.minilm_tf`, the same
public names and parameters). :func:`minilm_encoder` loads the pretrained weights;
``tests/test_minilm.py`` checks that the result is the same function as the Keras twin
and as sentence-transformers' own model.

LoRA (Hu et al., 2021) is :class:`LoRALinear`: a frozen ``nn.Linear`` plus a trainable
low-rank update ``x @ A @ B`` scaled by ``alpha / rank``, the same computation as
Keras's ``Dense.enable_lora``. :func:`add_lora` swaps it in for chosen projections.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from utils import minilm

__all__ = [
    "LoRALinear",
    "MiniLMEncoder",
    "SentenceClassifier",
    "add_lora",
    "encode",
    "fit",
    "minilm_encoder",
    "predict_proba",
    "sentence_classifier",
]


class TransformerBlock(nn.Module):
    """One encoder block: self-attention, then a feed-forward network (post-norm, as BERT)."""

    def __init__(self, config: minilm.MiniLMConfig, dropout: float) -> None:
        super().__init__()
        hidden, inner = config.hidden_size, config.intermediate_size
        self.num_heads, self.head_size = config.num_heads, config.head_size
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_output = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(hidden, inner)
        self.output = nn.Linear(inner, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, heads, T, head_size)."""
        batch, steps, _ = x.shape
        return x.view(batch, steps, self.num_heads, self.head_size).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, padding_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        query, key, value = (
            self.split_heads(layer(x)) for layer in (self.query, self.key, self.value)
        )
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.head_size)  # (B, heads, T, T)
        # padding must receive no attention: a large negative score gives it weight 0
        scores = scores.masked_fill(padding_mask[:, None, None, :] == 0, -1e9)
        weights = scores.softmax(dim=-1)
        context = self.dropout(weights) @ value  # (B, heads, T, head_size)
        context = context.transpose(1, 2).reshape(x.shape)
        x = self.attention_norm(x + self.dropout(self.attention_output(context)))
        inner = functional.gelu(self.intermediate(x))  # exact (erf) GELU, as BERT
        x = self.output_norm(x + self.dropout(self.output(inner)))
        return x, weights


class MiniLMEncoder(nn.Module):
    """Word-piece ids and padding mask, both ``(B, T)`` -> last hidden states ``(B, T, 384)``."""

    def __init__(self, config: minilm.MiniLMConfig, dropout: float = 0.1) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, hidden)
        self.position_embeddings = nn.Embedding(config.max_positions, hidden)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, hidden)
        self.embeddings_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(config, dropout) for _ in range(config.num_layers)
        )

    def forward(
        self, token_ids: torch.Tensor, padding_mask: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        positions = torch.arange(token_ids.shape[1], device=token_ids.device)
        # one segment only: every piece has token type 0
        x = (
            self.word_embeddings(token_ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings.weight[0]
        )
        x = self.dropout(self.embeddings_norm(x))
        attention = []
        for block in self.blocks:
            x, weights = block(x, padding_mask)
            attention.append(weights)
        return (x, attention) if return_attention else x


def _load_weights(encoder: MiniLMEncoder, weights: dict[str, np.ndarray]) -> None:
    state = {}
    for name, value in weights.items():
        tensor = torch.from_numpy(value)
        if name.endswith(".kernel"):  # Keras layout (in, out) -> nn.Linear's (out, in)
            name, tensor = name[: -len(".kernel")] + ".weight", tensor.T.contiguous()
        elif name.endswith((".gamma", ".beta")):
            name = name.rsplit(".", 1)[0] + (".weight" if name.endswith("gamma") else ".bias")
        elif name.endswith("_embeddings"):
            name += ".weight"
        state[name.replace("block", "blocks.", 1) if name.startswith("block") else name] = tensor
    encoder.load_state_dict(state, strict=True)


def minilm_encoder(dropout: float = 0.1, trainable: bool = True) -> MiniLMEncoder:
    """Build the MiniLM encoder and load its pretrained weights (offline).

    Args:
        dropout: dropout rate inside the encoder during training (BERT's is 0.1).
        trainable: ``False`` freezes every weight (``requires_grad=False``).

    Returns:
        :class:`MiniLMEncoder` in ``eval()`` mode, 22,565,376 parameters (the checkpoint's
        pooler, unused by sentence-transformers, is left out).
    """
    if not isinstance(trainable, bool):
        raise TypeError(f"trainable must be True or False, got {trainable!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    encoder = MiniLMEncoder(minilm.minilm_config(), dropout)
    _load_weights(encoder, minilm.minilm_weights())
    encoder.requires_grad_(trainable)
    return encoder.eval()


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(hidden.dtype)[..., None]
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class SentenceClassifier(nn.Module):
    """Encoder, mean pooling, L2 normalisation, one linear logit: ``(B, T)`` -> ``(B, 1)``.

    The head reads the sentence embedding of sentence-transformers (the normalised mean
    of the last hidden states over the real word pieces), so a linear probe fitted on
    :func:`encode`'s features can be its starting point.
    """

    def __init__(
        self,
        encoder: MiniLMEncoder,
        head_seed: int,
        head: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 1)
        kernel, bias = head or minilm.head_init(head_seed, encoder.config.hidden_size)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(kernel.T))
            self.head.bias.copy_(torch.from_numpy(bias))

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        pooled = _mean_pool(self.encoder(token_ids, padding_mask), padding_mask)
        return self.head(functional.normalize(pooled, dim=-1))


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
            so that the Keras twin's head starts from the same numbers.
        dropout: dropout in a freshly loaded encoder (ignored when ``encoder`` is given).
        head: ``(kernel (H, 1), bias (1,))`` to start the head from instead, e.g.
            :func:`utils.minilm.head_from_linear_model` of a linear probe.
    """
    if encoder is None:
        encoder = minilm_encoder(dropout=dropout)
    if not isinstance(encoder, MiniLMEncoder):
        raise TypeError(f"encoder must be a MiniLMEncoder, got {type(encoder).__name__}")
    head = minilm.check_head(head, encoder.config.hidden_size)
    return SentenceClassifier(encoder, head_seed, head)


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update: ``xW + b + (alpha/r) x A B``.

    ``A`` is ``(in, rank)``, ``B`` is ``(rank, out)`` (the layout of Keras's
    ``lora_kernel_a`` / ``lora_kernel_b``); ``B`` starts at zero, so the layer starts out
    as the pretrained one.
    """

    def __init__(
        self, base: nn.Linear, rank: int, alpha: float, lora_a: np.ndarray, lora_b: np.ndarray
    ) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.rank, self.scale = rank, alpha / rank
        self.lora_a = nn.Parameter(torch.from_numpy(lora_a))
        self.lora_b = nn.Parameter(torch.from_numpy(lora_b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * ((x @ self.lora_a) @ self.lora_b)


def add_lora(
    model: nn.Module,
    rank: int = 8,
    targets: Sequence[str] = ("query", "value"),
    alpha: float | None = None,
    seed: int = 0,
) -> nn.Module:
    """Freeze the encoder of ``model`` and give the ``targets`` projections LoRA adapters.

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
    encoder.requires_grad_(False)
    for index, block in enumerate(encoder.blocks):
        for name in targets:
            base = getattr(block, name)
            if isinstance(base, LoRALinear):
                raise ValueError(f"block {index} {name} already has a LoRA adapter")
            lora_a, lora_b = minilm.lora_init(
                seed, index, name, rank, base.in_features, base.out_features
            )
            setattr(block, name, LoRALinear(base, rank, alpha or rank, lora_a, lora_b))
    return model


def _tensors(batch: minilm.Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    token_ids = torch.from_numpy(batch.token_ids).long().to(device)
    return token_ids, torch.from_numpy(batch.mask).to(device)


def fit(
    model: nn.Module,
    batches: Sequence[minilm.Batch],
    learning_rate: float,
    weight_decay: float = 0.01,
    verbose: bool = True,
) -> dict[str, float]:
    """Train a classifier for one pass over ``batches`` with AdamW and a linear decay.

    The learning rate falls linearly from ``learning_rate`` to 0 over the batches (as
    Keras's ``PolynomialDecay(power=1)`` does in the twin). Only parameters with
    ``requires_grad`` are trained.

    Args:
        model: returns one logit per text, ``(B, 1)``, from ``(token_ids, mask)``.
        batches: from :func:`utils.minilm.make_batches`, in training order.
        learning_rate: AdamW's starting step size.
        weight_decay: AdamW's decoupled weight decay.
        verbose: print the running loss four times during the pass.

    Returns:
        ``{"loss": mean training loss, "seconds": wall time, "steps": batches}``.
    """
    if not batches:
        raise ValueError("batches is empty")
    device = next(model.parameters()).device
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    # fused: one kernel updates all the tensors; on a CPU the default loops over them in
    # Python, which costs more than a tenth of a second a step for 22.7 million weights
    optimizer = torch.optim.AdamW(
        trainable, lr=learning_rate, weight_decay=weight_decay, eps=1e-7, fused=True
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / len(batches))
    model.train()
    start, total = time.perf_counter(), 0.0
    for step, batch in enumerate(batches, start=1):
        token_ids, mask = _tensors(batch, device)
        targets = torch.from_numpy(batch.labels).float().to(device)
        loss = functional.binary_cross_entropy_with_logits(model(token_ids, mask)[:, 0], targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        total += loss.item()
        if verbose and step % max(1, len(batches) // 4) == 0:
            print(f"step {step}/{len(batches)}: mean loss {total / step:.4f}")
    model.eval()
    return {
        "loss": total / len(batches),
        "seconds": time.perf_counter() - start,
        "steps": len(batches),
    }


@torch.inference_mode()
def predict_proba(model: nn.Module, batches: Sequence[minilm.Batch]) -> np.ndarray:
    """Probability of class 1 for every text, in the order of ``batches``: float32 ``(N,)``."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs = [torch.sigmoid(model(*_tensors(batch, device))[:, 0]) for batch in batches]
    model.train(was_training)
    return torch.cat(outputs).cpu().numpy().astype(np.float32)


@torch.inference_mode()
def encode(
    encoder: MiniLMEncoder, batches: Sequence[minilm.Batch], pooled: bool = True
) -> np.ndarray | list[np.ndarray]:
    """Run the encoder over ``batches`` (no gradients, dropout off).

    Args:
        encoder: a :class:`MiniLMEncoder`.
        batches: from :func:`utils.minilm.make_batches` (``shuffle=False`` keeps the order).
        pooled: ``True`` gives mean-pooled, L2-normalised sentence embeddings; ``False``
            the last hidden states.

    Returns:
        float32 ``(N, 384)`` when pooled, else one ``(B, T, 384)`` array per batch.
    """
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    outputs = []
    for batch in batches:
        token_ids, mask = _tensors(batch, device)
        hidden = encoder(token_ids, mask)
        if pooled:
            outputs.append(functional.normalize(_mean_pool(hidden, mask), dim=-1).cpu().numpy())
        else:
            outputs.append(hidden.cpu().numpy())
    encoder.train(was_training)
    return np.concatenate(outputs) if pooled else outputs
