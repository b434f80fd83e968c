"""Measure the course's budgets and print the figures the README quotes.

    python scripts/benchmark.py                 # labs + cached rebuild
    python scripts/benchmark.py --labs          # each lab: wall time, peak memory, results
    python scripts/benchmark.py --rebuild       # an unchanged rebuild of the book
    python scripts/benchmark.py --fresh-setup   # `make book` in a fresh clone with a new venv

Figures are printed, never asserted: the labs assert their own accuracy floors.
Budgets (2-core CPU): first `make book` <= 5 min (install <= 3 min), unchanged
rebuild <= 30 s, text labs <= 3 min each, image labs <= 4 min each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from utils import results  # noqa: E402

LAB_BUDGET_SECONDS = {
    "text_classification_tf": 180,
    "text_classification_torch": 180,
    "image_classification_tf": 240,
    "image_classification_torch": 240,
}
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None):
    """Run a command; return (exit code, wall seconds, peak resident memory in MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(process.stderr.read().decode(errors="replace")[-3000:], file=sys.stderr)
    return code, seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def bench_labs() -> None:
    print("\n== Labs (each run as a script, one after the other) ==")
    print(f"{'lab':32} {'wall s':>8} {'budget s':>9} {'peak MiB':>9}  status")
    env = dict(os.environ, **QUIET_TF)
    for lab, budget in LAB_BUDGET_SECONDS.items():
        code, seconds, peak = run_measured([sys.executable, f"{lab}.py"], REPO_ROOT / "labs", env)
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        over = "" if seconds <= budget else "  OVER BUDGET"
        print(f"{lab:32} {seconds:8.1f} {budget:9d} {peak:9.0f}  {status}{over}", flush=True)
    for task in results.TWINS:
        print(f"\n-- {task} twins (from the results the labs recorded) --")
        try:
            rows = results.comparison_rows(task)
        except FileNotFoundError as error:
            print(error)
            continue
        for label, tf_value, torch_value in rows:
            print(f"{label:28} TF: {tf_value:24} PyTorch: {torch_value}")


def bench_rebuild() -> None:
    print("\n== Unchanged rebuild of the book ==")
    jupyter_book = str(Path(sys.executable).with_name("jupyter-book"))
    env = dict(os.environ, **QUIET_TF)
    command = [jupyter_book, "build", str(REPO_ROOT), "-W", "-n", "--keep-going"]
    code, seconds, _ = run_measured(command, REPO_ROOT, env)  # brings the cache up to date
    print(f"first build (executes what the cache lacks): {seconds:.1f} s (exit {code})")
    code, seconds, _ = run_measured(command, REPO_ROOT, env)
    print(f"unchanged rebuild: {seconds:.1f} s (budget 30 s, exit {code})")


def bench_fresh_setup() -> None:
    print("\n== `make book` in a fresh clone, new virtual environment ==")
    with tempfile.TemporaryDirectory(prefix="ailm-fresh-") as folder:
        clone = Path(folder) / "course"
        subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
        env = dict(os.environ, **QUIET_TF)
        env.pop("VIRTUAL_ENV", None)
        code, setup_seconds, _ = run_measured(["make", "setup"], clone, env)
        print(f"make setup (venv, pinned packages, data): {setup_seconds:.1f} s (exit {code})")
        code, book_seconds, _ = run_measured(["make", "book"], clone, env)
        print(
            f"make book after setup (executes every notebook): {book_seconds:.1f} s (exit {code})"
        )
        print(f"first command in all: {setup_seconds + book_seconds:.1f} s (budget 300 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", action="store_true", help="time each lab")
    parser.add_argument("--rebuild", action="store_true", help="time an unchanged rebuild")
    parser.add_argument("--fresh-setup", action="store_true", help="time make book from scratch")
    options = parser.parse_args()
    chosen = options.labs or options.rebuild or options.fresh_setup
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    if options.labs or not chosen:
        bench_labs()
    if options.rebuild or not chosen:
        bench_rebuild()
    if options.fresh_setup:
        bench_fresh_setup()


if __name__ == "__main__":
    main()
