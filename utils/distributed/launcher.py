"""Start a group of worker processes, watch them, and never leave one behind.

Framework-free (standard library only), so the same launcher starts ``torchrun`` for the
PyTorch lab and one process per worker for the TensorFlow lab.

- :func:`free_ports` picks ports that are free on ``127.0.0.1``.
- :func:`launch` starts the processes of a group, each with its own log file, waits for
  all of them, and returns when every one exited with status 0. When one fails, or the
  timeout passes, or the caller is interrupted (``KeyboardInterrupt``), every process of
  the group, *and every process they started*, is killed before the call returns. With
  ``max_restarts`` it starts the whole group again after a failure, as ``torchrun
  --max-restarts`` does.
- A failure raises :class:`LaunchError`, whose message names the worker, its exit status
  and the end of its own log.

Children are found through ``/proc`` (Linux) or ``psutil`` where it is installed; torchrun
starts its workers in sessions of their own, so killing torchrun's process group alone
would leave them running. The launcher looks for descendants every 0.1 s while the
group runs and once more when it stops it; a process whose parent abandons it before
either look (it is then adopted by the system's init process) is not found.

If the launcher's own process dies without a chance to clean up (``SIGKILL``, a crashed
kernel), the operating system stops the group on Linux: every process the launcher starts
asks, before it runs its program, for ``SIGTERM`` when its parent dies
(``prctl(PR_SET_PDEATHSIG)``). A TensorFlow worker dies of it; ``torchrun`` catches it
and stops its own workers first, which is why the signal is ``SIGTERM`` and not
``SIGKILL``. (Strictly, the signal comes when the *thread* that called :func:`launch`
ends; :func:`launch` blocks that thread until the group is done.) Other systems have no
such request: there, a killed launcher leaves its workers running until they finish or
time out on their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOCALHOST = "127.0.0.1"

#: Environment that keeps each worker to one compute thread: several workers share the
#: machine's few cores, and more threads than cores only adds switching.
ONE_THREAD_ENV: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
}


class LaunchError(RuntimeError):
    """A worker group failed: a worker exited with an error, or the group timed out.

    Attributes:
        attempts: what happened in each attempt, one list of :class:`WorkerExit` per attempt.
    """

    def __init__(self, message: str, attempts: list[list[WorkerExit]]) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class Worker:
    """One process of a group: a name for messages, the command line, extra environment."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerExit:
    """How a worker ended.

    ``returncode`` is the exit status (negative: killed by that signal number; ``None``:
    still running when the group was stopped); ``seconds`` the time it ran; ``log`` the
    file holding its standard output and error.
    """

    name: str
    returncode: int | None
    seconds: float
    log: Path

    def log_text(self) -> str:
        """The whole log as text (empty if the file is gone)."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the log."""
        return "\n".join(self.log_text().splitlines()[-lines:])


@dataclass(frozen=True)
class LaunchResult:
    """A group that finished: ``attempts[-1]`` succeeded, earlier attempts failed."""

    attempts: list[list[WorkerExit]]
    seconds: float

    @property
    def restarts(self) -> int:
        """How many times the group was started again after a failure."""
        return len(self.attempts) - 1

    @property
    def workers(self) -> list[WorkerExit]:
        """The workers of the successful (last) attempt."""
        return self.attempts[-1]


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """Return ``count`` distinct TCP ports that are free on ``host`` right now.

    The operating system chooses them (bind to port 0). They are released before this
    returns, so another program could take one in the meantime; a worker that fails to
    bind reports it in its log, and a new launch picks new ports.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """Whether a TCP server could bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def loopback_interface() -> str:
    """The name of the loopback network interface (``lo`` on Linux, ``lo0`` on macOS).

    PyTorch's gloo backend reads it from ``GLOO_SOCKET_IFNAME``, so that the workers talk
    over the loopback interface only.
    """
    for _, name in socket.if_nameindex():
        if name in ("lo", "lo0"):
            return name
    raise OSError("no loopback interface (lo or lo0) found; is networking set up?")


def torchrun_command(
    script: str | Path,
    nproc_per_node: int,
    script_args: Sequence[str] = (),
    max_restarts: int = 0,
) -> list[str]:
    """The command line ``torchrun --standalone --nproc_per_node=N [--max-restarts=R] script``.

    It runs ``python -m torch.distributed.run`` with this interpreter, so the workers use
    the same environment as the caller. ``--standalone`` makes torchrun host the
    rendezvous itself on a free local port (one machine).
    """
    if not isinstance(nproc_per_node, int) or nproc_per_node < 1:
        raise ValueError(f"nproc_per_node must be a positive int, got {nproc_per_node!r}")
    if not isinstance(max_restarts, int) or max_restarts < 0:
        raise ValueError(f"max_restarts must be an int >= 0, got {max_restarts!r}")
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc_per_node}",
        f"--max-restarts={max_restarts}",
        str(script),
        *script_args,
    ]


def tf_config(ports: Sequence[int], index: int, host: str = LOCALHOST) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index`` in a cluster of workers on ``host:ports``.

    Every worker gets the same cluster description and its own ``task`` index; worker 0
    is the chief (it writes checkpoints and results).
    """
    if not ports:
        raise ValueError("ports must name at least one port")
    if not 0 <= index < len(ports):
        raise ValueError(f"index must be in [0, {len(ports)}), got {index!r}")
    cluster = {"worker": [f"{host}:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


# -- finding and killing processes -------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    """parent pid -> child pids, for every process we can see."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # the command name (2nd field) may hold spaces: parse after its closing ")"
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
        return children
    try:
        import psutil
    except ImportError:  # no /proc and no psutil: only the direct processes are known
        return children
    for process in psutil.process_iter(["pid", "ppid"]):
        children.setdefault(process.info["ppid"], []).append(process.info["pid"])
    return children


def descendants(pid: int) -> list[int]:
    """Every process started (directly or not) by ``pid`` that is still alive."""
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _signal_all(pids: Sequence[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _stop(processes: Sequence[subprocess.Popen], seen: set[int], grace: float) -> None:
    """Terminate the processes and everything they started: SIGTERM, then SIGKILL."""
    pids = {p.pid for p in processes if p.poll() is None}
    for process in processes:
        pids.update(descendants(process.pid))
    pids |= {pid for pid in seen if pid_alive(pid)}
    _signal_all(sorted(pids), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids):
        for process in processes:
            process.poll()  # reap our own children so they do not linger as zombies
        time.sleep(0.05)
    for process in processes:
        pids.update(descendants(process.pid))
    _signal_all(sorted(pid for pid in pids if pid_alive(pid)), signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


# -- launching ---------------------------------------------------------------------------

#: ``prctl`` option that asks for a signal when the parent dies (``<linux/prctl.h>``).
PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``signum`` when we die.

    Runs in the child between ``fork`` and ``exec``, so the request holds for the
    program the child runs. Linux only (``None`` elsewhere: no such request). If this
    process died before the child made the request, the child stops itself at once.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up now, not in the child
    parent = os.getpid()

    def request() -> None:
        if prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent is already gone
            os.kill(os.getpid(), signum)

    return request


def _run_attempt(
    workers: Sequence[Worker], log_dir: Path, attempt: int, timeout: float, cwd: Path | None
) -> tuple[list[WorkerExit], str | None, int | None]:
    """Run one attempt: the exits, what failed (None: success), and which worker (or None)."""
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []
    started = time.monotonic()
    seen: set[int] = set()
    failure = culprit = None
    try:
        for worker in workers:
            log = log_dir / f"{worker.name}.attempt{attempt}.log"
            logs.append(log)
            env = {**os.environ, **ONE_THREAD_ENV, **worker.env}
            with open(log, "wb") as handle:  # the child keeps its own copy of the handle
                processes.append(
                    subprocess.Popen(
                        list(worker.command),
                        stdin=subprocess.DEVNULL,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        env=env,
                        cwd=cwd,
                        start_new_session=True,  # its own process group, apart from ours
                        preexec_fn=die_with_parent(),  # dies with us, even of SIGKILL
                    )
                )
        while True:
            codes = [process.poll() for process in processes]
            for process in processes:
                seen.update(descendants(process.pid))
            failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                culprit = failed[0]
                failure = f"worker {workers[culprit].name!r} exited with status {codes[culprit]}"
                break
            if all(code == 0 for code in codes):
                break
            if time.monotonic() - started > timeout:
                running = [w.name for w, code in zip(workers, codes, strict=True) if code is None]
                failure = f"timed out after {timeout:.0f} s; still running: {running}"
                break
            time.sleep(0.1)
    finally:
        # on success, failure, timeout or interruption: nothing of this group survives
        _stop(processes, seen, grace=3.0)
    seconds = time.monotonic() - started
    exits = [
        WorkerExit(worker.name, process.returncode, seconds, log)
        for worker, process, log in zip(workers, processes, logs, strict=True)
    ]
    return exits, failure, culprit


def _failure_message(
    failure: str, exits: list[WorkerExit], culprit: int | None, attempt: int
) -> str:
    """The failure with the log of the worker that failed (or of every worker: a timeout)."""
    shown = exits if culprit is None else [exits[culprit]]
    parts = [f"attempt {attempt}: {failure}"]
    for worker_exit in shown:
        parts.append(
            f"--- last lines of {worker_exit.log} (worker {worker_exit.name!r}, "
            f"status {worker_exit.returncode}) ---\n{worker_exit.log_tail()}"
        )
    return "\n".join(parts)


def launch(
    workers: Sequence[Worker] | Callable[[int], Sequence[Worker]],
    log_dir: str | Path,
    timeout: float = 180.0,
    max_restarts: int = 0,
    cwd: str | Path | None = None,
    on_failure: Callable[[int, str], None] | None = None,
) -> LaunchResult:
    """Run a group of worker processes to the end; restart the group after a failure.

    Args:
        workers: the group, or a function ``attempt -> group`` (attempt 0, 1, ...), e.g.
            to give every attempt fresh ports.
        log_dir: folder for the logs, one file per worker and attempt (created).
        timeout: seconds each attempt may take before the group is killed.
        max_restarts: how many times a failed group is started again (0: never).
        cwd: working directory of the workers (default: the caller's).
        on_failure: called as ``on_failure(attempt, message)`` after a failed attempt
            that will be retried, e.g. to print what happened.

    Returns:
        :class:`LaunchResult` with the exits of every attempt.

    Raises:
        LaunchError: when the last allowed attempt fails or times out; the message holds
            the end of the failing worker's log. Every process is gone by then.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive (seconds), got {timeout!r}")
    if not isinstance(max_restarts, int) or max_restarts < 0:
        raise ValueError(f"max_restarts must be an int >= 0, got {max_restarts!r}")
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    attempts: list[list[WorkerExit]] = []
    for attempt in range(max_restarts + 1):
        group = list(workers(attempt) if callable(workers) else workers)
        if not group:
            raise ValueError("workers must name at least one Worker")
        names = [worker.name for worker in group]
        if len(set(names)) != len(names):
            raise ValueError(f"worker names must be distinct, got {names}")
        exits, failure, culprit = _run_attempt(
            group, log_dir, attempt, timeout, Path(cwd) if cwd is not None else None
        )
        attempts.append(exits)
        if failure is None:
            return LaunchResult(attempts, time.monotonic() - started)
        message = _failure_message(failure, exits, culprit, attempt)
        if attempt == max_restarts:
            raise LaunchError(message, attempts)
        if on_failure is not None:
            on_failure(attempt, message)
    raise AssertionError("unreachable")  # the loop returns or raises
