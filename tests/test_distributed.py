"""utils.distributed: the launcher (ports, logs, timeouts, restarts, cleanup), the numpy
helpers, and the two worker scripts (1 process vs 2 workers compute the same weights).

The launcher tests start small Python processes; the worker tests start real torchrun /
MultiWorkerMirroredStrategy groups on 127.0.0.1 for a few steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from utils.distributed import common, launcher, runs

PYTHON = sys.executable
WORKERS_DIR = Path(launcher.__file__).parent


def python_worker(name: str, code: str, **env: str) -> launcher.Worker:
    return launcher.Worker(name, [PYTHON, "-c", textwrap.dedent(code)], env)


def wait_until_dead(pids: list[int], seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if launcher.pid_alive(pid)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


# -- small helpers ---------------------------------------------------------------------


def test_free_ports_are_distinct_and_bindable():
    ports = launcher.free_ports(3)
    assert len(set(ports)) == 3
    assert all(launcher.port_is_free(port) for port in ports)


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_free_ports_rejects_bad_counts(count):
    with pytest.raises(ValueError, match="count"):
        launcher.free_ports(count)


def test_tf_config_lists_the_cluster_and_the_task():
    config = json.loads(launcher.tf_config([1234, 1235], 1))
    assert config == {
        "cluster": {"worker": ["127.0.0.1:1234", "127.0.0.1:1235"]},
        "task": {"type": "worker", "index": 1},
    }
    with pytest.raises(ValueError, match="index"):
        launcher.tf_config([1234], 1)
    with pytest.raises(ValueError, match="ports"):
        launcher.tf_config([], 0)


def test_torchrun_command_uses_this_python_and_standalone():
    command = launcher.torchrun_command("w.py", 4, ["--out", "x"], max_restarts=2)
    assert command[:3] == [PYTHON, "-m", "torch.distributed.run"]
    assert "--standalone" in command and "--nproc_per_node=4" in command
    assert "--max-restarts=2" in command and command[-3:] == ["w.py", "--out", "x"]
    with pytest.raises(ValueError, match="nproc_per_node"):
        launcher.torchrun_command("w.py", 0)


def test_loopback_interface_is_named():
    assert launcher.loopback_interface() in {"lo", "lo0"}


def test_ring_allreduce_arithmetic():
    assert runs.ring_allreduce_bytes(100.0, 1) == 0
    assert runs.ring_allreduce_bytes(100.0, 2) == 100.0
    assert runs.ring_allreduce_bytes(100.0, 4) == 150.0
    # 8 workers, 1 GB over 1 GB/s: 2 * 7/8 s, plus 14 messages of 1 ms
    assert runs.ring_allreduce_seconds(1e9, 8, 1e9, latency_s=1e-3) == pytest.approx(1.764)
    with pytest.raises(ValueError, match="workers"):
        runs.ring_allreduce_bytes(100.0, 0)
    with pytest.raises(ValueError, match="bandwidth"):
        runs.ring_allreduce_seconds(100.0, 2, 0)


def test_weights_round_trip_and_compare(tmp_path):
    np.savez(tmp_path / "weights_step3.npz", a=np.zeros(3, np.float32), b=np.ones((2, 2)))
    (tmp_path / "result.json").write_text('{"steps": 3}')
    weights = runs.load_weights(tmp_path, "step3")
    assert runs.load_result(tmp_path) == {"steps": 3}
    other = {"a": np.array([0, 0, 0.5], np.float32), "b": np.ones((2, 2))}
    assert runs.max_abs_difference(weights, other) == 0.5
    with pytest.raises(ValueError, match="names"):
        runs.max_abs_difference(weights, {"a": weights["a"]})
    with pytest.raises(ValueError, match="shapes"):
        runs.max_abs_difference(weights, {"a": weights["a"], "b": np.ones(4)})
    with pytest.raises(FileNotFoundError, match="result.json"):
        runs.load_result(tmp_path / "nothing")


def test_function_source_reads_without_importing():
    source = runs.function_source(WORKERS_DIR / "tf_worker.py", "make_train_step")
    assert source.startswith("def make_train_step(") and "compute_average_loss" in source
    with pytest.raises(ValueError, match="no top-level function"):
        runs.function_source(WORKERS_DIR / "tf_worker.py", "missing")


def test_worker_shares_make_up_each_global_batch_as_distributed_sampler_deals_them():
    from torch.utils.data import DistributedSampler

    order = common.epoch_order(seed=7, epoch=2, size=48)
    assert sorted(order) == list(range(48))
    assert not np.array_equal(order, common.epoch_order(seed=7, epoch=3, size=48))
    batch, workers = 12, 3
    shares = [common.worker_share(order, rank, workers) for rank in range(workers)]
    local = batch // workers
    for k in range(48 // batch):  # the k-th local batches together: global batch k
        together = np.concatenate([share[k * local : (k + 1) * local] for share in shares])
        assert sorted(together) == sorted(order[k * batch : (k + 1) * batch])
    for rank in range(workers):  # the PyTorch worker's sampler deals the same positions
        sampler = DistributedSampler(range(48), num_replicas=workers, rank=rank, shuffle=False)
        assert np.array_equal(order[list(sampler)], shares[rank])
    with pytest.raises(ValueError, match="rank"):
        common.worker_share(order, 3, workers)


def test_the_twins_start_from_the_same_function():
    """The numpy weights, in each framework's layout, give the same logits in both."""
    import torch

    from utils.distributed import tf_worker, torch_worker

    images = np.random.default_rng(0).random((5, 28, 28), np.float32)
    torch_model = torch_worker.build_cnn()
    torch_worker.set_initial_weights(torch_model, seed=3)
    keras_model = tf_worker.build_cnn()
    keras_model.set_weights(common.initial_weights(3, "keras"))
    with torch.no_grad():
        torch_logits = torch_model(torch.from_numpy(images[:, None])).numpy()
    keras_logits = np.asarray(keras_model(images[..., None]))
    assert np.abs(torch_logits - keras_logits).max() < 1e-5
    assert np.abs(torch_logits).max() > 1e-3  # not trivially equal
    other = common.initial_weights(4, "torch")
    assert not np.array_equal(other[0], common.initial_weights(3, "torch")[0])
    with pytest.raises(ValueError, match="layout"):
        common.initial_weights(3, "jax")


# -- the launcher ----------------------------------------------------------------------


def test_launch_runs_a_group_and_keeps_each_log(tmp_path):
    group = [python_worker(f"w{i}", f"print('hello from {i}')") for i in range(2)]
    result = launcher.launch(group, tmp_path, timeout=30)
    assert result.restarts == 0
    assert [w.returncode for w in result.workers] == [0, 0]
    assert "hello from 1" in result.workers[1].log_text()


def test_a_failing_worker_stops_the_group_and_its_log_is_in_the_error(tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    sleeper = python_worker(
        "sleeper",
        f"""
        import os, pathlib, time
        pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))
        time.sleep(60)
        """,
    )
    failing = python_worker(
        "failing",
        """
        import sys, time
        time.sleep(1)
        print("the dataset is missing: run make data")
        sys.exit(3)
        """,
    )
    started = time.monotonic()
    with pytest.raises(launcher.LaunchError) as error:
        launcher.launch([sleeper, failing], tmp_path / "logs", timeout=30)
    assert time.monotonic() - started < 15
    message = str(error.value)
    assert "'failing' exited with status 3" in message
    assert "the dataset is missing: run make data" in message
    assert not wait_until_dead([int(pid_file.read_text())])


def test_grandchildren_in_their_own_session_are_killed_too(tmp_path):
    """torchrun starts its workers with start_new_session=True: they must die as well."""
    pid_file = tmp_path / "grandchild.pid"
    parent = python_worker(
        "parent",
        f"""
        import pathlib, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 start_new_session=True)
        pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))
        time.sleep(1)
        sys.exit(1)
        """,
    )
    with pytest.raises(launcher.LaunchError, match="'parent' exited with status 1"):
        launcher.launch([parent], tmp_path / "logs", timeout=30)
    assert not wait_until_dead([int(pid_file.read_text())])


def test_timeout_kills_the_group_and_frees_its_port(tmp_path):
    (port,) = launcher.free_ports(1)
    server = python_worker(
        "server",
        f"""
        import socket, time
        sock = socket.socket()
        sock.bind(("127.0.0.1", {port}))
        sock.listen()
        print("listening", flush=True)
        time.sleep(60)
        """,
    )
    with pytest.raises(launcher.LaunchError, match="timed out after 2 s") as error:
        launcher.launch([server], tmp_path, timeout=2)
    assert "listening" in str(error.value)  # a timeout shows every worker's log
    assert launcher.port_is_free(port)


def test_an_interrupted_launch_leaves_no_worker(tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    sleeper = python_worker(
        "sleeper",
        f"""
        import os, pathlib, time
        pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))
        time.sleep(60)
        """,
    )
    stop = threading.Event()

    def press_ctrl_c_once_the_worker_runs() -> None:
        """A real SIGINT, as Ctrl-C or a notebook's interrupt sends, once the worker is up."""
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            if pid_file.exists() and pid_file.read_text():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    # Python's own handler, as in a notebook kernel or a terminal: pytest-xdist's workers
    # ignore SIGINT, so without this the signal would be lost under `make test`
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    presser = threading.Thread(target=press_ctrl_c_once_the_worker_runs, daemon=True)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            launcher.launch([sleeper], tmp_path / "logs", timeout=120)
    finally:
        stop.set()
        presser.join(timeout=5)
        signal.signal(signal.SIGINT, previous_handler)
    assert not wait_until_dead([int(pid_file.read_text())])


def test_a_failed_group_is_restarted_with_a_new_attempt_number(tmp_path):
    def group(attempt: int) -> list[launcher.Worker]:
        code = "import os, sys; sys.exit(0 if os.environ['ATTEMPT'] == '1' else 5)"
        return [python_worker("w0", code, ATTEMPT=str(attempt))]

    failures = []
    result = launcher.launch(
        group, tmp_path, timeout=30, max_restarts=1, on_failure=lambda a, m: failures.append(a)
    )
    assert result.restarts == 1 and failures == [0]
    assert [w.returncode for w in result.attempts[0]] == [5]
    with pytest.raises(launcher.LaunchError, match="attempt 0"):
        launcher.launch(group, tmp_path, timeout=30, max_restarts=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"timeout": 0}, "timeout"), ({"max_restarts": -1}, "max_restarts")],
)
def test_launch_rejects_bad_settings(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        launcher.launch([python_worker("w", "pass")], tmp_path, **kwargs)


def test_launch_rejects_duplicate_names(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        launcher.launch([python_worker("w", "pass"), python_worker("w", "pass")], tmp_path)


# -- the worker scripts: the same computation with 1 and 2 workers -----------------------

WORKER_ARGS = [
    *("--steps", "3", "--snapshot-at", "3", "--batch-size", "32"),
    *("--train-per-class", "16", "--test-per-class", "10", "--seed", "7"),
]


def torch_group(out: Path) -> list[launcher.Worker]:
    """Two torchrun launches, one process and two workers, to run side by side."""
    env = {"GLOO_SOCKET_IFNAME": launcher.loopback_interface()}
    return [
        launcher.Worker(
            f"torchrun{workers}",
            launcher.torchrun_command(
                WORKERS_DIR / "torch_worker.py",
                workers,
                ["--out", str(out / f"workers{workers}"), *WORKER_ARGS],
            ),
            env,
        )
        for workers in (1, 2)
    ]


def tf_group(out: Path) -> list[launcher.Worker]:
    """A one-worker cluster and a two-worker cluster, to run side by side."""
    group = []
    for workers in (1, 2):
        ports = launcher.free_ports(workers)
        command = [
            PYTHON,
            str(WORKERS_DIR / "tf_worker.py"),
            *("--out", str(out / f"workers{workers}"), *WORKER_ARGS),
        ]
        group += [
            launcher.Worker(
                f"cluster{workers}_worker{i}", command, {"TF_CONFIG": launcher.tf_config(ports, i)}
            )
            for i in range(workers)
        ]
    return group


@pytest.fixture(scope="module", params=[torch_group, tf_group], ids=["torch", "tf"])
def one_and_two(request, tmp_path_factory) -> tuple[Path, dict, dict]:
    """One launch per framework, shared by the tests below: (folder, 1-worker, 2-worker)."""
    out = tmp_path_factory.mktemp(request.param.__name__)
    launcher.launch(request.param(out), out / "logs", timeout=150)
    return out, runs.load_result(out / "workers1"), runs.load_result(out / "workers2")


def test_one_process_and_two_workers_reach_the_same_weights(one_and_two):
    out, single, double = one_and_two
    assert (single["world_size"], double["world_size"]) == (1, 2)
    assert single["steps"] == double["steps"] == 3
    assert single["parameters"] == double["parameters"] == 206_922
    difference = runs.max_abs_difference(
        runs.load_weights(out / "workers1", "step3"), runs.load_weights(out / "workers2", "step3")
    )
    assert difference < 1e-5


def test_worker_results_are_complete(one_and_two):
    _, single, double = one_and_two
    assert np.isfinite(single["losses"]).all() and len(single["losses"]) == 3
    assert 0 <= double["test_accuracy"] <= 1
    assert double["gradient_bytes"] == 4 * double["parameters"]


def test_a_worker_with_a_bad_argument_fails_with_its_own_message(tmp_path):
    # the script alone, without torchrun: it stops at its arguments, before any rendezvous
    command = [PYTHON, str(WORKERS_DIR / "torch_worker.py"), "--out", str(tmp_path), "--steps", "0"]
    with pytest.raises(launcher.LaunchError, match="--steps must be at least 1"):
        launcher.launch([launcher.Worker("worker", command)], tmp_path / "logs", 120)


# -- a launcher that is killed leaves no worker ------------------------------------------


def marked_processes(marker: str) -> list[int]:
    """The live processes whose environment holds AILM_TEST_MARKER=marker (ours only)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:  # gone, or not ours
                continue
            if f"AILM_TEST_MARKER={marker}".encode() in environ.split(b"\0"):
                if launcher.pid_alive(int(entry.name)):
                    found.append(int(entry.name))
    return found


def test_workers_die_with_a_killed_launcher(tmp_path):
    """SIGKILL the process that called launch: its workers, and torchrun's, must not stay."""
    marker = f"{os.getpid()}-{time.monotonic_ns()}"
    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text("import time\ntime.sleep(300)\n")
    parent_code = f"""
        import sys
        from utils.distributed import launcher
        env = {{"AILM_TEST_MARKER": {marker!r}}}
        group = [
            launcher.Worker("plain", [sys.executable, {str(sleeper)!r}], env),
            launcher.Worker("torchrun", launcher.torchrun_command({str(sleeper)!r}, 2), env),
        ]
        launcher.launch(group, {str(tmp_path / "logs")!r}, timeout=600)
    """
    parent = subprocess.Popen([PYTHON, "-c", textwrap.dedent(parent_code)])
    try:
        # the plain worker, torchrun and torchrun's two workers
        deadline = time.monotonic() + 120
        while len(marked_processes(marker)) < 4 and time.monotonic() < deadline:
            assert parent.poll() is None, "the launching process ended early"
            time.sleep(0.2)
        assert len(marked_processes(marker)) == 4, "the workers did not all start"
        parent.kill()  # SIGKILL: the launcher gets no chance to clean up
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = marked_processes(marker)
    finally:
        parent.kill()
        for pid in marked_processes(marker):  # never leave them behind, even on failure
            os.kill(pid, signal.SIGKILL)
    assert not survivors, f"processes outlived the killed launcher: {survivors}"
