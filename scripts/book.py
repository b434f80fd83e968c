"""Build the book in every language: the English site and the Chinese edition side by side.

    python scripts/book.py -W -n --keep-going               # what `make book` runs
    python scripts/book.py -W -n --keep-going --sequential  # one after the other

Sphinx builds a site on one core (Jupyter Book's extensions do not allow its parallel
reading), so the Chinese edition is built beside the English site, on the other core,
from the start. It executes nothing: it takes its notebooks' outputs from the
jupyter-cache and, for the pages that execute on every build, from the English build,
which it waits for where it must (``_ext/course_i18n/concurrent.py``). With
``--sequential`` the two builds run one after the other, as ``jupyter-book build .`` and
``scripts/i18n.py build`` would; on one core the two share it, and take about as long.

The English build's output goes to the terminal as it comes, and with the Chinese
build's, which follows it, to ``_build/book-build.log`` and
``_build/book-build.zh_CN.log``. If the English build fails, the Chinese one is stopped.
The exit status is 0 when both sites were built.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD = REPO_ROOT / "_build"
LANGUAGE = "zh_CN"
#: the English build's signal that it has read every page (_ext/course_i18n/concurrent.py)
MARKER = BUILD / ".english-read"
#: the environment variables of _ext/course_i18n/concurrent.py (READ_MARKER, WAIT_FOR)
READ_MARKER = "COURSE_BOOK_ENGLISH_READ_MARKER"
WAIT_FOR = "COURSE_BOOK_WAIT_FOR_ENGLISH"


class MissingJupyterBook(RuntimeError):
    pass


def commands(flags: list[str], language: str = LANGUAGE) -> tuple[list[str], list[str]]:
    """The English build's command and the translation's, with the same flags."""
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jupyter_book is None:
        raise MissingJupyterBook(
            f"jupyter-book is not installed beside this Python ({sys.executable}): run "
            "`make book`, or run this script with the course's environment "
            "(.venv/bin/python scripts/book.py) after `make setup`"
        )
    english = [jupyter_book, "build", str(REPO_ROOT), *flags]
    translation = [sys.executable, str(REPO_ROOT / "scripts" / "i18n.py")]
    translation += ["--language", language, "build", *flags]
    return english, translation


def _tee(stream, *sinks) -> None:
    for line in iter(stream.readline, b""):
        for sink in sinks:
            sink.write(line)
            sink.flush()


def run_side_by_side(
    english: list[str],
    translation: list[str],
    english_log: Path,
    translation_log: Path,
    marker: Path = MARKER,
    sequential: bool = False,
) -> int:
    """Run the English build and the translation, side by side unless ``sequential``;
    return 0 when both succeeded, else 1. The English build's output is shown as it
    comes and the translation's after it; each is also written to its log."""
    english_log.parent.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    terminal = sys.stdout.buffer
    with english_log.open("wb") as log:
        environment = dict(os.environ, **{READ_MARKER: str(marker)})
        english_process = subprocess.Popen(
            english,
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        translation_process = None
        with translation_log.open("wb") as translation_output:
            if not sequential:
                environment = dict(os.environ, **{WAIT_FOR: str(marker)})
                translation_process = subprocess.Popen(
                    translation,
                    cwd=REPO_ROOT,
                    env=environment,
                    stdout=translation_output,
                    stderr=subprocess.STDOUT,
                )
            _tee(english_process.stdout, terminal, log)
            english_status = english_process.wait()
            if english_status != 0:
                if translation_process is not None:
                    translation_process.terminate()
                    translation_process.wait()
                print(f"\nThe English build failed (exit {english_status}); see {english_log}")
                return 1
            if translation_process is None:
                translation_process = subprocess.Popen(
                    translation, cwd=REPO_ROOT, stdout=translation_output, stderr=subprocess.STDOUT
                )
            elif not marker.is_file():  # every page is read when the build is done
                marker.write_text("done\n", encoding="ascii")
            translation_status = translation_process.wait()
    print(f"\n==> The translation (its log, {translation_log.name}):")
    with translation_log.open("rb") as output:
        shutil.copyfileobj(output, terminal)
    terminal.flush()
    marker.unlink(missing_ok=True)
    if translation_status != 0:
        print(f"\nThe translation failed (exit {translation_status}); see {translation_log}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/book.py", description="Build the book: English and Chinese, side by side."
    )
    parser.add_argument("-W", action="store_true", help="turn warnings into errors")
    parser.add_argument("-n", action="store_true", help="nitpicky: warn on unresolved links")
    parser.add_argument("--keep-going", action="store_true", help="with -W, report them all")
    parser.add_argument(
        "--sequential", action="store_true", help="build English first, then the translation"
    )
    args = parser.parse_args(argv)
    flags = [flag for flag, on in (("-W", args.W), ("-n", args.n)) if on]
    if args.keep_going:
        flags.append("--keep-going")
    try:
        english, translation = commands(flags)
    except MissingJupyterBook as error:
        print(f"scripts/book.py: {error}", file=sys.stderr)
        return 2
    status = run_side_by_side(
        english,
        translation,
        BUILD / "book-build.log",
        BUILD / f"book-build.{LANGUAGE}.log",
        sequential=args.sequential,
    )
    if status == 0:
        print(f"\nThe book is built: {BUILD / 'html' / 'index.html'}")
        print(f"(中文版: {BUILD / 'html' / LANGUAGE / 'index.html'})")
    return status


if __name__ == "__main__":
    sys.exit(main())
