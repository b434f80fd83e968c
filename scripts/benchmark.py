"""Measure the course's budgets and print the figures the README quotes.

    python scripts/benchmark.py                 # labs + cached rebuild
    python scripts/benchmark.py --labs          # every lab, one table (see below)
    python scripts/benchmark.py --labs text_classification_tf image_classification_tf
    python scripts/benchmark.py --rebuild       # an unchanged rebuild of the book
    python scripts/benchmark.py --languages     # the Chinese edition's cost over English's
    python scripts/benchmark.py --fresh-setup   # `make book` in a fresh clone with a new venv

Each lab runs alone, in a Jupyter kernel, as nbval and the book run it
(``scripts/profile_lab.py``, which also prints where the time went). The table shows:

- wall: from starting the kernel to the last cell's end;
- train: the training time the lab recorded (its main model);
- outside: wall minus the wall time the lab measured itself from its first cell, that
  is kernel start-up and the handling of outputs;
- peak MiB: the largest resident memory of the kernel;
- TF/PT: the Keras twin's figure divided by the PyTorch twin's.

Figures are printed, never asserted: the labs assert their own accuracy floors.
Budgets (2-core CPU): first `make book` <= 5 min (install <= 3 min), unchanged
rebuild <= 30 s; per lab the wall times in ``LAB_BUDGET_SECONDS``; both languages at
most ``LANGUAGES_BUDGET`` times the English-only build, nothing re-executed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from utils import results  # noqa: E402

#: Wall-time budget of each lab on a 2-core CPU, in seconds (the issues that set them).
LAB_BUDGET_SECONDS = {
    "text_classification_tf": 180,
    "text_classification_torch": 180,
    "image_classification_tf": 240,
    "image_classification_torch": 240,
    "transformer_finetuning_tf": 300,
    "transformer_finetuning_torch": 300,
    "pretraining_tf": 300,
    "pretraining_torch": 300,
    "distributed_training_tf": 240,
    "distributed_training_torch": 240,
}
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2"}
#: Both languages' build over the English-only build, when nothing is re-executed.
LANGUAGES_BUDGET = 1.5


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None):
    """Run a command; return (exit code, wall seconds, peak resident memory in MiB).

    The command's output goes to a temporary file, not a pipe, so a command that writes
    a lot can never block on a full pipe; its tail is printed when it fails.
    """
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode(errors="replace")
    return code, seconds, usage.ru_maxrss / 1024, output  # ru_maxrss is in KiB on Linux


def cpu_seconds_of(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, float, float]:
    """:func:`run_measured`, returning (exit code, wall seconds, CPU seconds) instead.

    CPU time (user + system, of the command and its children) is the steadier figure on a
    machine doing other work; a build is mostly one process, so on an idle machine the
    two are close. The output is printed when the command fails.
    """
    before = os.times()
    code, seconds, _, output = run_measured(command, cwd, env)
    after = os.times()
    if code != 0:
        print(output[-3000:])
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return code, seconds, cpu


def bench_lab(lab: str) -> dict[str, float | str]:
    """Execute one lab in a kernel; return its row of figures."""
    with tempfile.TemporaryDirectory(prefix="ailm-bench-") as folder:
        figures_path = Path(folder) / "figures.json"
        command = [
            sys.executable,
            str(REPO_ROOT / "scripts" / "profile_lab.py"),
            f"labs/{lab}.py",
            "--json",
            str(figures_path),
        ]
        env = dict(os.environ, **QUIET_TF)
        code, seconds, peak, output = run_measured(command, REPO_ROOT, env)
        print(output.split("\n", 1)[-1] if code == 0 else output[-3000:], flush=True)
        if code != 0:
            return {"lab": lab, "status": f"FAILED (exit {code})", "peak": peak}
        wall = json.loads(figures_path.read_text(encoding="utf-8"))["total_seconds"]
    recorded = results.load_results(lab)["figures"]
    inside = recorded.get("wall_seconds")
    return {
        "lab": lab,
        "status": "ok" if wall <= LAB_BUDGET_SECONDS[lab] else "OVER BUDGET",
        "wall": wall,
        "train": recorded.get("train_seconds", float("nan")),
        "outside": wall - inside if inside is not None else float("nan"),
        "peak": peak,
    }


def print_table(rows: list[dict]) -> None:
    print("\n== Labs: each alone in a kernel, as nbval and the book run them ==")
    header = (
        f"{'lab':30} {'wall s':>7} {'budget':>6} {'train s':>8} {'outside s':>9} "
        f"{'peak MiB':>8}  status"
    )
    print(header)
    by_lab = {row["lab"]: row for row in rows}
    for row in rows:
        budget = LAB_BUDGET_SECONDS[row["lab"]]
        if "wall" not in row:
            print(
                f"{row['lab']:30} {'':>7} {budget:6d} {'':>8} {'':>9} {row['peak']:8.0f}  "
                f"{row['status']}"
            )
            continue
        print(
            f"{row['lab']:30} {row['wall']:7.1f} {budget:6d} {row['train']:8.1f} "
            f"{row['outside']:9.1f} {row['peak']:8.0f}  {row['status']}"
        )
    print("\n-- TensorFlow / PyTorch ratios (target: training time within 1.3x) --")
    for task, (tf_lab, torch_lab) in results.TWINS.items():
        if tf_lab in by_lab and torch_lab in by_lab and "wall" in by_lab[tf_lab]:
            tf_row, torch_row = by_lab[tf_lab], by_lab.get(torch_lab, {})
            if "wall" not in torch_row:
                continue
            print(
                f"{task:14} wall {tf_row['wall'] / torch_row['wall']:5.2f}x   "
                f"train {tf_row['train'] / torch_row['train']:5.2f}x   "
                f"peak memory {tf_row['peak'] / torch_row['peak']:5.2f}x"
            )


def bench_labs(labs: list[str]) -> None:
    rows = []
    for lab in labs:
        if lab not in LAB_BUDGET_SECONDS:
            raise SystemExit(f"unknown lab {lab!r}; choose from {', '.join(LAB_BUDGET_SECONDS)}")
        if not (REPO_ROOT / "labs" / f"{lab}.py").exists():
            continue  # a lab of a later issue, not written yet
        rows.append(bench_lab(lab))
    print_table(rows)


def bench_rebuild() -> None:
    print("\n== Unchanged rebuild of the book ==")
    jupyter_book = str(Path(sys.executable).with_name("jupyter-book"))
    env = dict(os.environ, **QUIET_TF)
    command = [jupyter_book, "build", str(REPO_ROOT), "-W", "-n", "--keep-going"]
    code, seconds, _, _ = run_measured(command, REPO_ROOT, env)  # brings the cache up to date
    print(f"first build (executes what the cache lacks): {seconds:.1f} s (exit {code})")
    code, seconds, _, _ = run_measured(command, REPO_ROOT, env)
    print(f"unchanged rebuild: {seconds:.1f} s (budget 30 s, exit {code})")


def bench_languages(rounds: int = 2) -> None:
    """English alone against both languages: from a clean site, then unchanged.

    Before each clean-site case the site, both doctree folders, both folders of executed
    notebooks and the compiled catalogues are removed from ``_build``; the execution
    cache stays, so nothing executes except the pages that execute on every build. Each
    round times, from a clean site and then unchanged: the English build alone
    (``jupyter-book build .``), the Chinese build after it (``scripts/i18n.py build``),
    and, from a clean site again, the book as ``make book`` builds it (``scripts/book.py``:
    both at once). Between the English and the Chinese build of the clean site it also
    times the Chinese build's pages with nothing translated (no catalogue, the English
    search index): what a second build of the same pages costs before any translation.
    Wall seconds, with CPU seconds (the builds and what they run) in brackets.
    """
    print("\n== The Chinese edition's cost: English alone against both languages ==")
    env = dict(os.environ, **QUIET_TF)
    flags = ["-W", "-n", "--keep-going"]
    english = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(REPO_ROOT)]
    english += flags
    chinese = [sys.executable, str(REPO_ROOT / "scripts" / "i18n.py"), "build", *flags]
    untranslated = chinese + ["--nothing-translated"]
    book = [sys.executable, str(REPO_ROOT / "scripts" / "book.py"), *flags]
    build = REPO_ROOT / "_build"
    scratch = ["html", ".doctrees", ".doctrees.zh_CN", "jupyter_execute"]
    scratch += ["jupyter_execute.zh_CN", "locales"]
    untranslated_output = ["html/zh_CN", ".doctrees.zh_CN.untranslated", "jupyter_execute.zh_CN"]

    def remove(folders: list[str]) -> None:
        for folder in folders:
            subprocess.run(["rm", "-rf", str(build / folder)], check=True)

    def timed(command: list[str]) -> tuple[float, float]:
        code, seconds, cpu = cpu_seconds_of(command, REPO_ROOT, env)
        if code != 0:
            raise SystemExit(f"{' '.join(command[:3])} failed (exit {code})")
        return seconds, cpu

    def cell(measured: tuple[float, float]) -> str:
        return f"{measured[0]:6.1f} ({measured[1]:5.1f})"

    print(
        f"{'round':>5} {'case':11} {'English':>14} {'then Chinese':>14} {'ratio':>6}"
        f" {'book (both at once)':>20} {'ratio':>6} {'untranslated':>14}"
    )
    for round_ in range(1, rounds + 1):
        remove(scratch)
        rows = {}
        for case in ("clean site", "unchanged"):
            en = timed(english)
            floor = None
            if case == "clean site":
                floor = timed(untranslated)
                remove(untranslated_output)
            rows[case] = [en, timed(chinese), floor]
        remove(scratch)
        for case in ("clean site", "unchanged"):
            rows[case].append(timed(book))
        for case, (en, zh, floor, both) in rows.items():
            sequential = (en[0] + zh[0]) / en[0]
            floor_text = f"{cell(floor)} = {floor[0] / en[0]:.2f} English" if floor else ""
            print(
                f"{round_:5d} {case:11} {cell(en)} {cell(zh)} {sequential:5.2f}x"
                f" {cell(both):>20} {both[0] / en[0]:5.2f}x {floor_text}",
                flush=True,
            )
        print(
            f"      (budget {LANGUAGES_BUDGET}x; CPU both at once / English:"
            f" {rows['clean site'][3][1] / rows['clean site'][0][1]:.2f}x clean,"
            f" {rows['unchanged'][3][1] / rows['unchanged'][0][1]:.2f}x unchanged)",
            flush=True,
        )


def bench_fresh_setup() -> None:
    print("\n== `make book` in a fresh clone, new virtual environment ==")
    with tempfile.TemporaryDirectory(prefix="ailm-fresh-") as folder:
        clone = Path(folder) / "course"
        subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
        env = dict(os.environ, **QUIET_TF)
        env.pop("VIRTUAL_ENV", None)
        code, setup_seconds, _, _ = run_measured(["make", "setup"], clone, env)
        print(f"make setup (venv, pinned packages, data): {setup_seconds:.1f} s (exit {code})")
        code, book_seconds, _, _ = run_measured(["make", "book"], clone, env)
        print(
            f"make book after setup (executes every notebook): {book_seconds:.1f} s (exit {code})"
        )
        print(f"first command in all: {setup_seconds + book_seconds:.1f} s (budget 300 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--labs", nargs="*", metavar="LAB", help="time these labs (all when none is named)"
    )
    parser.add_argument("--rebuild", action="store_true", help="time an unchanged rebuild")
    parser.add_argument("--fresh-setup", action="store_true", help="time make book from scratch")
    parser.add_argument(
        "--languages", action="store_true", help="time both languages against English only"
    )
    options = parser.parse_args()
    chosen = options.labs is not None or options.rebuild or options.fresh_setup or options.languages
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    if options.labs is not None or not chosen:
        bench_labs(options.labs or list(LAB_BUDGET_SECONDS))
    if options.rebuild or not chosen:
        bench_rebuild()
    if options.fresh_setup:
        bench_fresh_setup()
    if options.languages:
        bench_languages()


if __name__ == "__main__":
    main()
