#!/usr/bin/env python3
"""Check what the course needs from the machine, before anything is installed.

``make setup``, ``make book`` and ``make test`` run this first. It checks everything and
then stops once, with ONE message that lists every missing piece and the command that
installs it, instead of failing later one test at a time:

* a Python that TensorFlow 2.21 has wheels for (3.10-3.13), with its ``venv`` module;
* Fashion-MNIST: Debian's ``dataset-fashion-mnist``, a copy already downloaded into the
  data folder, or permission to download it (``AILM_ALLOW_DOWNLOAD=1``);
* for ``--for test`` only: Chromium and chromium-driver, which the site tests drive.

Standard library only (it runs before the virtual environment exists), and old-Python
syntax, so that an unsupported interpreter still gets the message instead of a
``SyntaxError``. Exit status: 0 when nothing is missing, 1 otherwise.

Usage: ``python3 scripts/check_prerequisites.py [--for setup|book|test]``
"""

from __future__ import print_function

import argparse
import os
import shutil
import sys

SUPPORTED = ((3, 10), (3, 13))
# kept in step with utils/data/sources.py by tests/test_prerequisites.py
FASHION_MNIST_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def data_dir():
    """The course's data folder, by the rule of ``utils.config.data_dir``."""
    configured = os.environ.get("AILM_DATA_DIR")
    if configured:
        return os.path.expanduser(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache_home, "ailm-course")


def has_all(folder):
    return all(os.path.isfile(os.path.join(folder, name)) for name in FASHION_MNIST_FILES)


def check_python(problems):
    version = sys.version_info[:2]
    if not SUPPORTED[0] <= version <= SUPPORTED[1]:
        problems.append(
            (
                "Python {}.{} ({}) is not supported: TensorFlow 2.21 has wheels for "
                "Python 3.10-3.13 only.".format(version[0], version[1], sys.executable),
                "sudo apt-get install python3.11 python3.11-venv   "
                "(or any 3.10-3.13), then:  make setup PYTHON=python3.11",
            )
        )
        return
    venv_dir = os.environ.get("VENV", ".venv")
    if not os.path.exists(os.path.join(venv_dir, "bin", "python")):
        try:
            import ensurepip  # noqa: F401  (what `python -m venv` needs to install pip)
            import venv  # noqa: F401
        except ImportError:
            problems.append(
                (
                    "Python's venv module is missing (Debian and Ubuntu ship it separately).",
                    "sudo apt-get install python{}.{}-venv".format(*version),
                )
            )


def check_fashion_mnist(problems, debian_dir):
    if has_all(debian_dir) or has_all(os.path.join(data_dir(), "fashion-mnist")):
        return
    if os.environ.get("AILM_ALLOW_DOWNLOAD", "").strip().lower() in ("1", "true", "yes"):
        return  # make setup downloads it (about 30 MB, checked before it is kept)
    problems.append(
        (
            "Fashion-MNIST is not installed (looked in {} and {}).".format(
                debian_dir, os.path.join(data_dir(), "fashion-mnist")
            ),
            "sudo apt-get install dataset-fashion-mnist   (Debian/Ubuntu)\n"
            "      or let setup download it once (about 30 MB):  "
            "AILM_ALLOW_DOWNLOAD=1 make setup",
        )
    )


def check_chromium(problems):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [
        name for name, path in (("chromium", browser), ("chromium-driver", driver)) if not path
    ]
    if missing:
        problems.append(
            (
                "{} not found: the site tests of `make test` drive the built book in "
                "headless Chromium.".format(" and ".join(missing)),
                "sudo apt-get install chromium chromium-driver",
            )
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--for",
        dest="purpose",
        choices=("setup", "book", "test"),
        default="book",
        help="what is about to run: `test` also needs Chromium (default: book)",
    )
    parser.add_argument(
        "--debian-dir", default=FASHION_MNIST_DEBIAN_DIR, help=argparse.SUPPRESS
    )  # tests point it at an empty folder
    arguments = parser.parse_args(argv)
    problems = []
    check_python(problems)
    check_fashion_mnist(problems, arguments.debian_dir)
    if arguments.purpose == "test":
        check_chromium(problems)
    if not problems:
        return 0
    lines = [
        "",
        "Before `make {}` can run, this machine needs {} thing(s):".format(
            arguments.purpose, len(problems)
        ),
    ]
    for number, (what, fix) in enumerate(problems, 1):
        lines.append("")
        lines.append("{}. {}".format(number, what))
        lines.append("   Install with:  {}".format(fix))
    lines.append("")
    lines.append("Then run the same make command again. (README.md, section Prerequisites.)")
    print("\n".join(lines), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
