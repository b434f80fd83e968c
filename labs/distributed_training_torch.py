# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data-parallel training with PyTorch
#
# *How do large models train on many machines at once? We run PyTorch's own distributed
# engine on this computer: several worker processes started by `torchrun`, a real
# all-reduce of the gradients over the network stack, a crash, and a restart that loses
# nothing.*
#
# This lab has a TensorFlow twin, {doc}`distributed_training_tf`, with the same headings
# and the same hyperparameters. Chapter 7 ({doc}`../chapters/07_future_trends`) explains
# why large models need many accelerators; this lab shows the mechanics that make it work.
#
# **What you will learn**
#
# 1. to start data-parallel training with `torchrun`, `DistributedDataParallel` (DDP) and
#    `DistributedSampler`, and what each of them does;
# 2. to prove that N workers compute the same thing as one process with the same global
#    batch, and why the weights still drift apart by rounding;
# 3. to measure throughput, computation and communication, and to predict from the
#    arithmetic of ring all-reduce when adding machines pays;
# 4. to survive a crashed worker: `torchrun --max-restarts` and a checkpoint;
# 5. to write the command lines that run the same script on two machines.
#
# **Prerequisites**: the small convnet of {doc}`image_classification_torch`; what a
# gradient step is ({doc}`../chapters/03_algorithms_and_workflow`). No GPU and no second
# machine: every worker is a process on this computer, and they talk over the loopback
# network interface (`127.0.0.1`).
#
# **Runtime**: {glue:text}`torch_wall_minutes:.1f` minutes on the run that built this page.
# The lab is sized for less than 4 minutes on a quiet 2-core CPU; on a busy machine it
# takes longer (it prints its own wall time at the end).

# %% [markdown]
# ## Setup
#
# The lab itself imports no model code. It starts other Python processes: the *worker
# script* `utils/distributed/torch_worker.py`, a plain file you can read on its own, run
# by `torchrun`. The launcher in `utils/distributed/launcher.py` starts them, writes each
# one's output to a log, stops them all when one fails or a time limit passes, and raises
# an error that shows the failing worker's own log.

# %%
import time

lab_start = time.perf_counter()

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from matplotlib import pyplot as plt
from myst_nb import glue

from utils import config, data, results
from utils.distributed import launcher, runs

# %% [markdown]
# The hyperparameters, the same in the TensorFlow twin. `BATCH_SIZE` is the *global*
# batch: with N workers each one computes on `BATCH_SIZE / N` images per step. Plain SGD
# with momentum, not Adam, for a reason the exercises explore.

# %%
SEED = config.SEED
BATCH_SIZE = 64  # global batch: shared among the workers
LEARNING_RATE = 0.05
MOMENTUM = 0.9
TRAIN_PER_CLASS = 320  # 3,200 training images: 50 steps per epoch
TEST_PER_CLASS = 200  # 2,000 test images
STEPS = 150  # three epochs
WORKER_COUNTS = (1, 2, 4)
SHORT_STEPS = 20  # the 4-worker run: for equivalence and throughput only
EQUIVALENCE_STEPS = 3  # compare the weights after this many steps...
TOLERANCE = 1e-5  # ...and allow at most this absolute difference
SNAPSHOT_STEPS = (1, 2, 3, 5, 10, 20)  # weights saved after these steps
BENCHMARK_STEPS = 10  # steps timed for computation alone and communication alone
CHECKPOINT_EVERY = 50  # steps
CRASH_AT_STEP = 110  # one worker dies here; the last checkpoint is at step 100
RESUME_TOLERANCE = 0.02  # test accuracy after a crash and resume vs without the crash
ACCURACY_FLOOR = 0.65  # after STEPS steps, in every such run
TIMEOUT_SECONDS = 600  # per launch: then every worker is killed (a busy machine is slow)

WORKER_SCRIPT = Path(launcher.__file__).with_name("torch_worker.py")
# one compute thread per worker, and gloo talks over the loopback interface only
WORKER_ENV = {**launcher.ONE_THREAD_ENV, "GLOO_SOCKET_IFNAME": launcher.loopback_interface()}
run_folder = Path(tempfile.mkdtemp(prefix="ailm-distributed-torch-"))
print(f"PyTorch {torch.__version__}; worker script: {WORKER_SCRIPT.name}; runs in {run_folder}")

# %% [markdown]
# ## The worker script
#
# Every worker runs the same script. `torchrun` starts N copies and tells each one who it
# is through environment variables: `RANK` (0 … N − 1), `WORLD_SIZE` (N), and
# `MASTER_ADDR`/`MASTER_PORT`, the address of a small key-value store where the workers
# find each other (the *rendezvous*). `init_process_group("gloo")` connects them; gloo is
# PyTorch's collective-communication library for CPUs (NCCL is the one for NVIDIA GPUs).
#
# Then three pieces do the work:
#
# - **`DistributedSampler`** deals the training set: worker r gets the images at
#   positions r, r + N, r + 2N, … so that each step the workers' shares together are
#   exactly one global batch. It can also shuffle (the same way in every worker, from
#   its seed and the epoch); here each epoch's order is drawn in numpy from the seed
#   (`common.epoch_order`), the same order the TensorFlow twin uses, and the sampler
#   deals that order with `shuffle=False`.
# - **`DistributedDataParallel`** wraps the model. At the start it copies rank 0's weights
#   to every worker; in every backward pass it *all-reduces* the gradients: each worker
#   ends up with the average of all workers' gradients.
# - **the optimiser** then takes the same step in every worker, so the copies of the
#   model stay identical without ever sending weights.
#
# This is one step of the worker, as it is in the script:

# %%
print(runs.function_source(WORKER_SCRIPT, "train_step"))

# %% [markdown]
# The model is the convnet of the image labs without its batch normalisation and dropout.
# Both would make N workers compute something different from one process: batch
# normalisation takes its statistics over each worker's share of the batch (PyTorch's
# `SyncBatchNorm`, which shares them, runs only on GPUs), and dropout draws its random
# masks in each worker separately.
#
# Its first weights are drawn in numpy from the seed (`common.initial_weights`, as
# PyTorch's default does: uniform in ±1/√fan-in), and the TensorFlow twin gets the very
# same numbers, rearranged into Keras's layout. With the same images in the same order
# too, the twins compute the same training; what still tells them apart is rounding
# (each framework's kernels sum in their own order), which training amplifies, as the
# comparison of 1 and N workers below shows. Their test accuracies are therefore close,
# but not equal.

# %%
print(runs.function_source(WORKER_SCRIPT, "build_cnn"))
print(runs.function_source(WORKER_SCRIPT, "set_initial_weights"))

# %% [markdown]
# ## Launch the workers
#
# `train` builds the command line
# `python -m torch.distributed.run --standalone --nproc_per_node=N torch_worker.py ...`
# (that is `torchrun`, run with this notebook's Python so the workers use the same
# packages) and hands it to the launcher. `--standalone` makes `torchrun` host the
# rendezvous itself, on a free port of this machine. Rank 0 writes its results and
# weights into the run's folder.


# %%
def worker_args(folder: Path, *extra: str) -> list[str]:
    """The worker script's arguments: this lab's hyperparameters, then any extras."""
    return [
        *("--out", str(folder), "--seed", str(SEED), "--steps", str(STEPS)),
        *("--batch-size", str(BATCH_SIZE), "--learning-rate", str(LEARNING_RATE)),
        *("--momentum", str(MOMENTUM), "--optimizer", "sgd"),
        *("--train-per-class", str(TRAIN_PER_CLASS), "--test-per-class", str(TEST_PER_CLASS)),
        *extra,
    ]


def train(workers: int, name: str, *extra: str, max_restarts: int = 0) -> dict:
    """Run torchrun with `workers` processes; return rank 0's result (and the launch's)."""
    folder = run_folder / name
    command = launcher.torchrun_command(
        WORKER_SCRIPT, workers, worker_args(folder, *extra), max_restarts=max_restarts
    )
    launch = launcher.launch(
        [launcher.Worker("torchrun", command, WORKER_ENV)], folder / "logs", TIMEOUT_SECONDS
    )
    result = runs.load_result(folder)
    result.update(folder=folder, wall_seconds=launch.seconds, log=launch.workers[0].log_text())
    return result


print(" ".join(launcher.torchrun_command(WORKER_SCRIPT.name, 2, ["--out", "run"])[1:]))

# %% [markdown]
# Three runs with 1, 2 and 4 workers, each with the same global batch and seed. The runs
# with 1 and 2 workers train for `STEPS` steps; the one with 4 workers, which on two
# cores mostly waits for its turn, stops after `SHORT_STEPS`, enough to compare its
# weights and time it. Each saves its weights after the steps in `SNAPSHOT_STEPS` and,
# after training, times computation and communication separately.

# %%
training_runs = {}
for workers in WORKER_COUNTS:
    training_runs[workers] = train(
        workers,
        f"workers{workers}",
        *("--steps", str(STEPS if workers < 4 else SHORT_STEPS)),
        *("--snapshot-at", *map(str, SNAPSHOT_STEPS)),
        *("--benchmark-steps", str(BENCHMARK_STEPS)),
    )
    run = training_runs[workers]
    print(
        f"{workers} worker(s): {run['steps']} steps in {run['wall_seconds']:.1f} s "
        f"(start-up included), test accuracy {run['test_accuracy']:.4f}"
    )
    assert run["steps"] == (STEPS if workers < 4 else SHORT_STEPS)
    assert run["world_size"] == workers
    if run["steps"] == STEPS:  # the short run has not learned yet
        assert run["test_accuracy"] >= ACCURACY_FLOOR, f"{workers} workers: accuracy too low"

# %% [markdown]
# A worker's own output is in the log: each rank announces itself, and rank 0 reports
# the end.

# %%
print(training_runs[2]["log"][-600:])

# %% [markdown]
# ## Same computation, proven
#
# With one process, a step computes the mean loss over the `BATCH_SIZE` images of the
# global batch and its gradient. With N workers, each computes the mean over its
# `BATCH_SIZE` / N images, and DDP averages the N gradients. The average of N means over
# equal shares is the mean over the whole batch, and the gradient is linear: **the two
# are the same number**, in exact arithmetic. In floating point they differ in the last
# bits, because the sums are taken in another order ((a + b) + c need not equal a + (b +
# c) in float32).
#
# So we compare the weights of the 1-worker run with those of the 2- and 4-worker runs
# after every snapshot step, as the largest absolute difference over all
# {glue:text}`torch_parameters:,d` weights.

# %%
reference = training_runs[1]["folder"]
drift = {
    workers: [
        runs.max_abs_difference(
            runs.load_weights(reference, f"step{step}"),
            runs.load_weights(training_runs[workers]["folder"], f"step{step}"),
        )
        for step in SNAPSHOT_STEPS
    ]
    for workers in WORKER_COUNTS[1:]
}
final_drift = runs.max_abs_difference(
    runs.load_weights(reference), runs.load_weights(training_runs[2]["folder"])
)
for workers in WORKER_COUNTS[1:]:
    cells = ", ".join(f"{s}: {d:.1e}" for s, d in zip(SNAPSHOT_STEPS, drift[workers], strict=True))
    print(f"1 vs {workers} workers, max |difference| after step {cells}")
print(f"1 vs 2 workers after all {STEPS} steps: {final_drift:.1e}")
equivalence = {w: drift[w][SNAPSHOT_STEPS.index(EQUIVALENCE_STEPS)] for w in WORKER_COUNTS[1:]}
for workers, difference in equivalence.items():
    assert difference <= TOLERANCE, (
        f"1 vs {workers} workers differ by {difference:.2e} after {EQUIVALENCE_STEPS} steps"
    )
glue("torch_equivalence_2", equivalence[2], display=False)
glue("torch_equivalence_4", equivalence[4], display=False)
glue("torch_final_drift_2", final_drift, display=False)
glue("torch_parameters", training_runs[1]["parameters"], display=False)
glue("EQUIVALENCE_STEPS", EQUIVALENCE_STEPS, display=False)
glue("TOLERANCE", TOLERANCE, display=False)
accuracies = {w: training_runs[w]["test_accuracy"] for w in WORKER_COUNTS[:2]}
glue("torch_accuracy_1", accuracies[1], display=False)
glue("torch_accuracy_2", accuracies[2], display=False)

# %%
figure, axis = plt.subplots(figsize=(6, 3.5))
for workers in WORKER_COUNTS[1:]:
    axis.semilogy(SNAPSHOT_STEPS, drift[workers], "o-", label=f"1 vs {workers} workers")
axis.axhline(TOLERANCE, color="grey", linestyle="--", label=f"tolerance {TOLERANCE:g}")
axis.set(xlabel="step", ylabel="max |weight difference|", title="Same computation, other order")
axis.legend()
plt.show()

# %% [markdown]
# After {glue:text}`EQUIVALENCE_STEPS` steps the weights of one process and of 2 workers
# differ by at most {glue:text}`torch_equivalence_2:.1e` (4 workers:
# {glue:text}`torch_equivalence_4:.1e`), rounding-error size, below the tolerance of
# {glue:text}`TOLERANCE`. The difference then grows: training amplifies small
# differences, as any long chain of nonlinear steps does, sometimes in a jump: when a
# rounding difference moves a value across zero at a ReLU, or changes which pixel a
# max-pooling window picks, for one image, the two runs send that image's gradient
# along different paths (with some seeds this happens within the first few steps, which
# is why the comparison is made early). After all steps it is
# {glue:text}`torch_final_drift_2:.1e` between 1 and 2 workers. The runs are still equally
# good, with test accuracies of {glue:text}`torch_accuracy_1:.3f` and
# {glue:text}`torch_accuracy_2:.3f` for 1 and 2 workers: neither is the "right" one.
# Bit-for-bit equal runs would need the same summation order, which a different number
# of workers cannot give.

# %% [markdown]
# ## How fast is it?
#
# ### Throughput on this machine
#
# Throughput is the number of training images per second, measured by rank 0 over the
# training steps (start-up excluded).

# %%
throughput = {w: training_runs[w]["examples_per_second"] for w in WORKER_COUNTS}
for workers in WORKER_COUNTS:
    run = training_runs[workers]
    print(
        f"{workers} worker(s): {run['step_ms']:5.1f} ms per step, "
        f"{throughput[workers]:6.0f} images/s ({throughput[workers] / throughput[1]:.2f} x one)"
    )
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
glue("torch_cores", cores, display=False)
for workers in WORKER_COUNTS:
    glue(f"torch_speedup_{workers}", throughput[workers] / throughput[1], display=False)

# %% [markdown]
# This computer has {glue:text}`torch_cores` cores, shared with whatever else runs on
# it, so these timings are upper bounds. Two workers ran at
# {glue:text}`torch_speedup_2:.2f` times the speed of one, four at
# {glue:text}`torch_speedup_4:.2f` times. Two processes on two cores can at best double
# the speed, and only if nothing else needs the cores: the notebook, the operating system
# and the other worker's communication compete with them. With four workers on two
# cores, the processes take turns on the cores, and every all-reduce waits for the
# slowest: on a quiet machine four workers cannot beat two. (On a busy machine they can
# seem to, because the operating system shares the cores among all processes, and four
# processes get a larger share than two.)
#
# ### Communication and computation
#
# After training, each worker timed its forward and backward pass alone
# (`no_sync()` turns DDP's all-reduce off) and an all-reduce alone, of as many numbers as
# the model has weights.

# %%
for workers in WORKER_COUNTS:
    run = training_runs[workers]
    share = run["allreduce_ms"] / (run["allreduce_ms"] + run["compute_ms"])
    print(
        f"{workers} worker(s): computation {run['compute_ms']:5.1f} ms on "
        f"{BATCH_SIZE // workers} images, all-reduce {run['allreduce_ms']:5.2f} ms "
        f"({share:.0%} of the two)"
    )
gradient_bytes = training_runs[1]["gradient_bytes"]
glue("torch_gradient_mb", gradient_bytes / 1e6, display=False)
glue("torch_allreduce_ms_2", training_runs[2]["allreduce_ms"], display=False)
glue("torch_compute_ms_2", training_runs[2]["compute_ms"], display=False)
glue("torch_compute_ms_1", training_runs[1]["compute_ms"], display=False)

# %% [markdown]
# The gradients are {glue:text}`torch_gradient_mb:.2f` MB per step (4 bytes per weight).
# With two workers, one all-reduce of them took {glue:text}`torch_allreduce_ms_2:.2f` ms
# and a forward and backward pass on each worker's half batch
# {glue:text}`torch_compute_ms_2:.1f` ms (one process on the whole batch:
# {glue:text}`torch_compute_ms_1:.1f` ms). Over the loopback interface no byte leaves
# the computer, so the all-reduce costs little more than copying memory and waking the
# other process; on a real network it is the part that grows.
#
# ### On a real cluster: when scaling out pays
#
# A ring all-reduce arranges the N workers in a ring and splits the gradients into N
# chunks. In N − 1 steps each worker passes a chunk on and adds the one it receives
# (*reduce-scatter*); in N − 1 more steps the summed chunks travel round (*all-gather*).
# Each worker sends 2(N − 1)/N times the gradient size, less than twice it however large
# N is, so the time is
# about 2(N − 1)/N × bytes / bandwidth (plus a latency per step). Scaling out pays when
# this is small next to the computation per step, or when it can overlap with the
# backward pass (DDP starts all-reducing a bucket of gradients as soon as it is ready).
#
# The cell computes the all-reduce time per step for this model and for a model of one
# billion parameters, on 8 machines, over 10 Gbit/s Ethernet and a 100 Gbit/s link
# (InfiniBand class), and compares it with this model's computation per step.

# %%
LINKS = {"10 Gbit/s Ethernet": 10e9 / 8, "100 Gbit/s link": 100e9 / 8}  # bytes per second
MACHINES = 8
billion_bytes = 4 * 1e9  # float32 gradients of 10^9 parameters
for link, bandwidth in LINKS.items():
    ours = runs.ring_allreduce_seconds(gradient_bytes, MACHINES, bandwidth)
    large = runs.ring_allreduce_seconds(billion_bytes, MACHINES, bandwidth)
    print(
        f"{link:20s}: our model {1000 * ours:6.2f} ms per step, "
        f"a 1-billion-parameter model {large:5.2f} s per step"
    )
ours_10g = runs.ring_allreduce_seconds(gradient_bytes, MACHINES, LINKS["10 Gbit/s Ethernet"])
large_100g = runs.ring_allreduce_seconds(billion_bytes, MACHINES, LINKS["100 Gbit/s link"])
compute_ms = training_runs[1]["compute_ms"]
assert 1000 * ours_10g < compute_ms, "the prose below says communication is the smaller part"
glue("torch_ours_10g_ms", 1000 * ours_10g, display=False)
glue("torch_large_100g_s", large_100g, display=False)

# %% [markdown]
# Our small model's gradients cross 10 Gbit/s Ethernet in about
# {glue:text}`torch_ours_10g_ms:.1f` ms per step on 8 machines, less than the
# {glue:text}`torch_compute_ms_1:.1f` ms one process here computes on a global batch:
# here, more machines would pay, as long as each still gets a batch big enough to keep
# it busy. A model of a billion parameters needs about
# {glue:text}`torch_large_100g_s:.2f` s per step for its gradients even over 100 Gbit/s:
# its computation per step must be of that order or larger (large batches, large
# models on fast accelerators) for the machines not to sit waiting. That is why large
# models are trained on machines joined by the fastest links available, with
# communication overlapped with computation, and why the ratio *computation per byte
# of gradient* decides whether scaling out pays.
#
# ## Survive a crash
#
# A run on many machines for days will see machines fail. `torchrun --max-restarts=1`
# watches its workers: when one dies it stops the others and starts the whole group
# again, once. The new workers know nothing, unless the old ones left a checkpoint. Rank 0
# saves the weights, the optimiser's state (the momentum) and the step number every
# `CHECKPOINT_EVERY` steps; a worker that starts and finds a checkpoint resumes from it.
#
# We run the 2-worker training again, and make rank 1 kill itself (`SIGKILL`, no
# chance to clean up) at step `CRASH_AT_STEP`, in the first attempt only.

# %%
crash_run = train(
    2,
    "crash",
    *("--checkpoint-every", str(CHECKPOINT_EVERY), "--crash-at-step", str(CRASH_AT_STEP)),
    max_restarts=1,
)
print(
    "\n".join(
        line
        for line in crash_run["log"].splitlines()
        if "attempt" in line or "crashing" in line or "exitcode" in line or "done" in line
    )
)

# %% [markdown]
# The log shows the crash, torchrun stopping the surviving worker, and both workers of
# the second attempt starting from the checkpoint. The assertions check what must hold:
# the second attempt started at the last checkpoint before the crash, finished all
# steps, and its test accuracy is within `RESUME_TOLERANCE` of the run without a crash.

# %%
uninterrupted = training_runs[2]
last_checkpoint = (CRASH_AT_STEP // CHECKPOINT_EVERY) * CHECKPOINT_EVERY
accuracy_gap = abs(crash_run["test_accuracy"] - uninterrupted["test_accuracy"])
resume_drift = runs.max_abs_difference(
    runs.load_weights(crash_run["folder"]), runs.load_weights(uninterrupted["folder"])
)
print(
    f"attempt {crash_run['attempt']} resumed at step {crash_run['start_step']} and "
    f"finished at step {crash_run['steps']}"
)
print(
    f"test accuracy {crash_run['test_accuracy']:.4f} vs {uninterrupted['test_accuracy']:.4f} "
    f"without the crash; max |weight difference| {resume_drift:.1e}"
)
assert crash_run["attempt"] == 1, "the group was not restarted"
assert crash_run["start_step"] == last_checkpoint, "did not resume from the last checkpoint"
assert crash_run["steps"] == STEPS
assert accuracy_gap <= RESUME_TOLERANCE, f"accuracy after resuming differs by {accuracy_gap}"
assert resume_drift <= TOLERANCE, f"the resumed run's weights differ by {resume_drift:.1e}"
glue("torch_resume_step", crash_run["start_step"], display=False)
glue("torch_resume_gap", accuracy_gap, display=False)
glue("torch_resume_drift", resume_drift, display=False)
glue("CRASH_AT_STEP", CRASH_AT_STEP, display=False)

# %% [markdown]
# The restarted group resumed at step {glue:text}`torch_resume_step` and lost the
# {glue:text}`CRASH_AT_STEP` − {glue:text}`torch_resume_step` steps since the
# checkpoint, nothing more. Its test accuracy differs from the uninterrupted run's by
# {glue:text}`torch_resume_gap:.4f`, and its weights by at most
# {glue:text}`torch_resume_drift:.1e`: the checkpoint holds everything the steps depend
# on (weights, momentum, step number), the order of the images depends only on the seed and
# the epoch, and the same number of workers sums in the same order, so the redone steps
# compute what the first attempt computed. The price of
# a checkpoint is the time to write it; the price of none is all the steps since the
# start.
#
# ### A failed launch
#
# When a worker fails for good, the launcher stops the whole group and raises an error
# that names the worker and shows the end of its own log. Here a global batch of 63
# cannot be split between 2 workers (torchrun adds its own report below the workers'
# messages):

# %%
try:
    train(2, "bad_batch", "--batch-size", "63")
except launcher.LaunchError as error:
    message = str(error)
    print(message)
else:
    raise AssertionError("a batch of 63 for 2 workers should have failed")
assert "not divisible by 2 workers" in message

# %% [markdown]
# ## Two machines: the command lines
#
# The worker script runs unchanged on several machines. Only `torchrun`'s arguments
# change: instead of `--standalone`, every machine is told how many machines there are
# and where the rendezvous is. One machine (here `node0`, at 10.0.0.1) hosts the
# rendezvous's key-value store on a port both can reach; `torchrun` on each machine
# connects to it, waits until both have arrived, and then the workers get their global
# ranks (machine 0: ranks 0 and 1; machine 1: ranks 2 and 3), exchange their addresses
# through the store, and connect to each other directly. The training data must be on
# both machines, and the checkpoint folder on storage both can read for a restart to
# resume.

# %%
NODES, PER_NODE, RENDEZVOUS = 2, 2, "10.0.0.1:29400"
for node in range(NODES):
    command = [
        "torchrun",
        f"--nnodes={NODES}",
        f"--nproc_per_node={PER_NODE}",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint={RENDEZVOUS}",
        "--rdzv-id=fashion-ddp",
        "--max-restarts=1",
        "utils/distributed/torch_worker.py",
        *("--out", "/shared/run"),
    ]
    print(f"on node{node}:  GLOO_SOCKET_IFNAME=eth0 " + " ".join(command))

# %% [markdown]
# `GLOO_SOCKET_IFNAME` names the network interface the workers talk over (here we used
# the loopback interface; between machines it is the one that reaches the other
# machine). On GPUs one would use the `nccl` backend instead of `gloo`; nothing else in
# the script changes.
#
# ## Record the results
#
# The figures go to the results folder, and the comparison page shows them next to the
# TensorFlow twin's.

# %%
wall_seconds = time.perf_counter() - lab_start
split_fingerprint = data.load_fashion_mnist(seed=SEED).fingerprint()
results.record_and_compare(
    "distributed_training_torch",
    "pytorch",
    test_accuracy=round(training_runs[2]["test_accuracy"], 4),
    train_seconds=round(training_runs[2]["wall_seconds"], 1),
    wall_seconds=round(wall_seconds, 1),
    parameters=training_runs[1]["parameters"],
    split_fingerprint=split_fingerprint,
    images_per_second={w: round(throughput[w], 1) for w in WORKER_COUNTS},
    equivalence_max_difference={w: float(equivalence[w]) for w in WORKER_COUNTS[1:]},
    resume_accuracy_gap=round(accuracy_gap, 4),
    versions={"torch": torch.__version__, "numpy": np.__version__, "python": sys.version[:6]},
)
glue("torch_wall_minutes", wall_seconds / 60, display=False)
shutil.rmtree(run_folder)  # the runs' logs, weights and checkpoints

# %% [markdown]
# ## Exercises
#
# ````{exercise}
# :label: distributed-torch-dropout
#
# Put dropout back: add `nn.Dropout(0.25)` after the first `nn.Linear` in
# `build_cnn` of the worker script (on a copy of it) and compare 1 and 2 workers after
# `EQUIVALENCE_STEPS` steps again. What happens to the difference, and why?
# ````
#
# ````{solution} distributed-torch-dropout
# :class: dropdown
#
# The difference jumps from rounding size to the size of a training step. Each worker
# draws dropout masks from its own random generator, for its own images, so the network
# that produces the gradients is not the one the single process uses. Both runs are valid
# training, but they are no longer the same computation. The same happens with batch
# normalisation: each worker normalises with the statistics of its own share of the batch
# (on GPUs,
# `nn.SyncBatchNorm.convert_sync_batchnorm(model)` shares them, at the cost of an all-reduce in
# every batch-normalisation layer).
# ````
#
# ````{exercise}
# :label: distributed-torch-adam
#
# Run the comparison with Adam: `--optimizer adam --learning-rate 0.001`. How large is
# the difference between 1 and 2 workers after `EQUIVALENCE_STEPS` steps, and after all steps?
# ````
#
# ````{solution} distributed-torch-adam
# :class: dropdown
#
# Larger than with SGD from the first steps (compare `drift` for both runs). Adam
# divides each weight's gradient by the root of its running mean square: for weights
# whose gradients are tiny, a rounding difference in the
# gradient becomes a relative difference in the step, and the first steps have the size
# of the learning rate whatever the gradient's size. The computation is still the same;
# the optimiser amplifies its rounding more. Choose the tolerance to fit the optimiser.
# ````
#
# ````{exercise}
# :label: distributed-torch-balance
#
# Make the computation per step larger: `BATCH_SIZE = 256` and `STEPS = 40` (and the
# snapshot steps below 40). How do the throughputs of 1 and 2 workers and the share of
# the all-reduce change? Use the ring formula to say how large a batch our model needs
# for 8 machines on 10 Gbit/s Ethernet to spend less than a tenth of each step in
# communication, taking this machine's computation time per image.
# ````
#
# ````{solution} distributed-torch-balance
# :class: dropdown
#
# The all-reduce sends the same bytes whatever the batch, while the computation grows
# with it, so the share of communication falls and 2 workers come closer to twice the
# speed of one (on a quiet machine). For the estimate: the ring needs
# `runs.ring_allreduce_seconds(gradient_bytes, 8, 10e9 / 8)` seconds per step; the
# computation per image is `training_runs[1]["compute_ms"] / BATCH_SIZE` milliseconds;
# the per-worker batch must make the computation at least nine times the communication:
#
# ```python
# ring_ms = 1000 * runs.ring_allreduce_seconds(gradient_bytes, 8, 10e9 / 8)
# ms_per_image = training_runs[1]["compute_ms"] / BATCH_SIZE
# print(f"at least {9 * ring_ms / ms_per_image:.0f} images per worker and step")
# ```
#
# On this machine the answer is a few dozen images: scaling this small model out would
# pay even on ordinary Ethernet, if it needed to.
# ````
#
# ````{exercise}
# :label: distributed-torch-checkpoint
#
# Crash at step 149 with checkpoints every 50 steps, then with checkpoints every 10
# steps. How many steps are redone each time? What does a checkpoint cost a large model
# (how many bytes, with Adam's two moments per weight)?
# ````
#
# ````{solution} distributed-torch-checkpoint
# :class: dropdown
#
# With a checkpoint every 50 steps the group resumes at step 100 and redoes 49 steps;
# every 10 steps it resumes at 140 and redoes 9. Checkpoints are not free: a model with
# P float32 weights trained with Adam writes 12 P bytes (weights and two moments), 12 GB
# for a billion weights, and all workers wait while it is written unless it is written
# in the background. The interval trades that time against the work lost in a crash.
# ````

# %% [markdown]
# ## Summary
#
# 1. **The engine.** `torchrun` starts the workers and the rendezvous; `init_process_group`
#    connects them; `DistributedSampler` splits each global batch among them; DDP
#    all-reduces the gradients in the backward pass, so every worker takes the same step.
# 2. **The same computation.** One process and N workers with the same global batch
#    compute the same gradients; the weights agreed to rounding size after
#    {glue:text}`EQUIVALENCE_STEPS` steps ({glue:text}`torch_equivalence_2:.1e` for 2
#    workers) and drift apart afterwards, as floating-point sums in another order do.
#    Batch normalisation and dropout break the equivalence unless they are synchronised.
# 3. **Speed.** On {glue:text}`torch_cores` shared cores, 2 workers ran at
#    {glue:text}`torch_speedup_2:.2f` times and 4 workers at
#    {glue:text}`torch_speedup_4:.2f` times the speed of one. On a cluster, a ring
#    all-reduce costs about 2(N − 1)/N × gradient bytes / bandwidth per step: scaling
#    out pays when that is small next to the computation per step.
# 4. **Faults.** With a checkpoint and `--max-restarts`, a killed worker cost only the
#    steps since the last checkpoint; the resumed run ended
#    {glue:text}`torch_resume_gap:.4f` away in accuracy from the uninterrupted one.
# 5. **Two machines.** The same script; `torchrun --nnodes=2 --rdzv-backend=c10d
#    --rdzv-endpoint=host:port` on each machine.
#
# The TensorFlow twin, {doc}`distributed_training_tf`, does the same with
# `MultiWorkerMirroredStrategy`, and shows where Keras's `model.fit` stops working.
