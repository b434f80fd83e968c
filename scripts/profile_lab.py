"""Where does a lab's time go? Execute it in a real kernel, as nbval does, and time it.

    python scripts/profile_lab.py labs/image_classification_tf.py
    python scripts/profile_lab.py labs/text_classification_tf.py --env TF_ENABLE_ONEDNN_OPTS=0

Prints the kernel's start-up time, the wall time of every section (the Markdown
headings of the lab), the slowest cells, and the bytes of output the kernel streamed
back, then the total. Nothing is asserted; nothing is written next to the sources.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.booktools import read_source  # noqa: E402


def _heading(cell) -> str | None:
    for line in cell.source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _output_bytes(cell) -> int:
    total = 0
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            total += len(output.get("text", ""))
        for value in output.get("data", {}).values():
            total += len(value) if isinstance(value, str) else 0
    return total


def profile(path: Path, env: dict[str, str], timeout: int) -> dict[str, float]:
    from nbclient import NotebookClient

    notebook = read_source(path)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    cell_seconds: dict[int, float] = {}
    cell_cpu: dict[int, float] = {}
    started: dict[int, tuple[float, float]] = {}

    def kernel_pid() -> int | None:
        process = getattr(client.km.provisioner, "process", None)
        return getattr(process, "pid", None)

    def before(cell, cell_index, **_):
        started[cell_index] = time.perf_counter(), _cpu_seconds(kernel_pid())

    def after(cell, cell_index, **_):
        wall, cpu = started[cell_index]
        cell_seconds[cell_index] = time.perf_counter() - wall
        cell_cpu[cell_index] = _cpu_seconds(kernel_pid()) - cpu

    client.on_cell_execute = before
    client.on_cell_executed = after
    old_env = dict(os.environ)
    os.environ.update(env)
    total_start = time.perf_counter()
    try:
        with client.setup_kernel(cwd=str(path.parent)):
            kernel_seconds = time.perf_counter() - total_start
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    total = time.perf_counter() - total_start

    sections: dict[str, float] = {}
    section_cpu: dict[str, float] = {}
    section = "(before the first heading)"
    slow: list[tuple[float, int, str]] = []
    streamed = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            section = _heading(cell) or section
            continue
        seconds = cell_seconds.get(index, 0.0)
        sections[section] = sections.get(section, 0.0) + seconds
        section_cpu[section] = section_cpu.get(section, 0.0) + cell_cpu.get(index, 0.0)
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        slow.append((seconds, index, first_line[:60]))
        streamed += _output_bytes(cell)
    print(f"\n{path.name}: {total:.1f} s in all; kernel start {kernel_seconds:.1f} s")
    print("     wall     CPU  section (CPU: the kernel's user + system time, all threads)")
    for name, seconds in sections.items():
        if seconds >= 0.5:
            print(f"  {seconds:6.1f}s {section_cpu[name]:6.1f}s  {name}")
    print("  slowest cells:")
    for seconds, index, line in sorted(slow, reverse=True)[:6]:
        print(f"  {seconds:7.1f} s  cell {index}: {line}")
    cells_total = sum(cell_seconds.values())
    print(f"  cells {cells_total:.1f} s, outside cells {total - cells_total:.1f} s,")
    print(f"  {streamed / 1024:.0f} KiB of output streamed back", flush=True)
    return {
        "total_seconds": total,
        "kernel_start_seconds": kernel_seconds,
        "cpu_seconds": sum(cell_cpu.values()),
        "sections": sections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="+", type=Path, help="lab sources (.py or .md)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the kernel")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--json", type=Path, help="also write the figures of one lab here")
    options = parser.parse_args()
    env = {}
    for item in options.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--env takes NAME=VALUE, got {item!r}")
        env[name] = value
    for lab in options.labs:
        if not lab.exists():
            parser.error(f"no such lab: {lab} (give a path such as labs/text_classification_tf.py)")
        figures = profile(lab.resolve(), env, options.timeout)
        if options.json is not None:
            options.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
