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
# # Data-parallel training with TensorFlow
#
# *How do large models train on many machines at once? We run TensorFlow's own
# distributed engine on this computer: several worker processes joined by
# `MultiWorkerMirroredStrategy`, a real all-reduce of the gradients over the network
# stack, a crash, and a restart that loses nothing.*
#
# This lab has a PyTorch twin, {doc}`distributed_training_torch`, with the same headings
# and the same hyperparameters. Chapter 7 ({doc}`../chapters/07_future_trends`) explains
# why large models need many accelerators; this lab shows the mechanics that make it work.
#
# **What you will learn**
#
# 1. to start data-parallel training with `tf.distribute.MultiWorkerMirroredStrategy`,
#    one process per worker described by `TF_CONFIG`, and a custom training step (Keras 3's
#    `model.fit` does not work under this strategy);
# 2. to prove that N workers compute the same thing as one process with the same global
#    batch, and why the weights still drift apart by rounding;
# 3. to measure throughput, computation and communication, and to predict from the
#    arithmetic of ring all-reduce when adding machines pays;
# 4. to survive a crashed worker: restart the group and resume from a
#    `tf.train.CheckpointManager` checkpoint;
# 5. to write the command lines that run the same script on two machines.
#
# **Prerequisites**: the small convnet of {doc}`image_classification_tf`; what a
# gradient step is ({doc}`../chapters/03_algorithms_and_workflow`). No GPU and no second
# machine: every worker is a process on this computer, and they talk over the loopback
# network interface (`127.0.0.1`).
#
# **Runtime**: {glue:text}`tf_wall_minutes:.1f` minutes on the run that built this page.
# The lab is sized for less than 4 minutes on a quiet 2-core CPU; on a busy machine it
# takes longer (it prints its own wall time at the end).

# %% [markdown]
# ## Setup
#
# The lab itself imports no model code, not even TensorFlow. It starts other Python
# processes: the *worker script* `utils/distributed/tf_worker.py`, a plain file you can
# read on its own, one process per worker. The launcher in
# `utils/distributed/launcher.py` starts them, writes each one's output to a log, stops
# them all when one fails or a time limit passes, and raises an error that shows the
# failing worker's own log.

# %%
import time

lab_start = time.perf_counter()

import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from myst_nb import glue

from utils import config, data, results
from utils.distributed import launcher, runs

# %% [markdown]
# The hyperparameters, the same in the PyTorch twin. `BATCH_SIZE` is the *global*
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

WORKER_SCRIPT = Path(launcher.__file__).with_name("tf_worker.py")
WORKER_ENV = dict(launcher.ONE_THREAD_ENV)  # one compute thread per worker
run_folder = Path(tempfile.mkdtemp(prefix="ailm-distributed-tf-"))
tf_version = metadata.version("tensorflow-cpu" if sys.platform == "linux" else "tensorflow")
print(f"TensorFlow {tf_version}; worker script: {WORKER_SCRIPT.name}; runs in {run_folder}")

# %% [markdown]
# ## The worker script
#
# Every worker runs the same script, started once per worker. Each process finds in the
# environment variable `TF_CONFIG` the addresses of all workers (the *cluster*) and its
# own place in it (`task`, with an index 0 … N − 1); worker 0 is the *chief*, which
# writes results and checkpoints. `tf.distribute.MultiWorkerMirroredStrategy()` reads
# it, starts a server on the worker's own address and connects to the others.
#
# Then three pieces do the work:
#
# - **`strategy.scope()`**: the model and the optimiser are built inside it, so their
#   variables are *mirrored*: a copy in every worker, kept equal.
# - **`strategy.distribute_datasets_from_function`** has each worker build its own
#   dataset, batched by `BATCH_SIZE / N`: every worker draws the same order of the
#   images for the epoch from the seed (`common.epoch_order`, the order the PyTorch twin
#   uses too) and keeps the images at positions i, i + N, i + 2N, … of it (the way
#   PyTorch's `DistributedSampler` deals them). Each step, the workers' shares together
#   are exactly one global batch.
# - **the training step** runs in every worker with `strategy.run`. Each worker's loss is
#   `tf.nn.compute_average_loss(per_example_losses, global_batch_size=...)`, its share's
#   summed losses divided by the *global* batch size; the optimiser *all-reduces* (sums)
#   the gradients of all workers before it applies them, so every worker takes the same
#   step with the gradient of the mean loss over the global batch. `strategy.reduce`
#   adds up the workers' losses for printing.
#
# **Keras 3's `model.fit` does not work here.** Under `MultiWorkerMirroredStrategy` it
# stops with "Attempt to convert a value (PerReplica...) to a Tensor", an open issue
# upstream (keras-team/keras#20585, tensorflow/tensorflow#72388), met with TensorFlow 2.21
# and Keras 3.15 when this lab was written. The training step below is the way around
# it; the exercises let you try `fit` yourself.
#
# This is one step of the worker, as it is in the script:

# %%
print(runs.function_source(WORKER_SCRIPT, "make_train_step"))

# %% [markdown]
# The model is the convnet of the image labs without its batch normalisation and dropout.
# Both would make N workers compute something different from one process: batch
# normalisation takes its statistics over each worker's share of the batch (unless it is
# created with `synchronized=True`, which adds an all-reduce to every such layer), and
# dropout draws its random masks in each worker separately.
#
# Its first weights are drawn in numpy from the seed (`common.initial_weights`, as
# PyTorch's default does: uniform in ±1/√fan-in) and set with `model.set_weights`; the
# PyTorch twin gets the very same numbers, in its own layout (kernels stored (out, in,
# height, width) rather than (height, width, in, out), and the first dense layer's
# inputs flattened channels first rather than last). With the same images in the same
# order too, the twins compute the same training; what still tells them apart is
# rounding (each framework's kernels sum in their own order), which training amplifies,
# as the comparison of 1 and N workers below shows. Their test accuracies are therefore
# close, but not equal.

# %%
print(runs.function_source(WORKER_SCRIPT, "build_cnn"))

# %% [markdown]
# ## Launch the workers
#
# `train` picks N free ports on `127.0.0.1`, builds the `TF_CONFIG` of each worker and
# hands the N command lines (`python tf_worker.py ...`, with this notebook's Python so
# the workers use the same packages) to the launcher. TensorFlow has no launcher of its
# own for this: a cluster manager (or you) starts one process per worker. Our launcher
# also does what `torchrun --max-restarts` does: when a worker fails, it stops the
# others and starts the whole group again, with fresh ports. The chief writes its
# results and weights into the run's folder.
#
# One caution: the address in `TF_CONFIG` is where the *other* workers connect. The
# worker's own gRPC server listens on its port on every network interface of the
# machine (`ss -ltnp` shows `*:port` while this lab runs). TensorFlow's gRPC server
# builds its listening address from the port alone, with a wildcard host
# (`tensorflow/core/distributed_runtime/rpc/grpc_server_lib.cc`); neither `TF_CONFIG`,
# nor a cluster resolver, nor `ConfigProto` changes it. On a shared network, keep these
# ports behind a firewall, or run the workers in a network namespace that has only the
# loopback interface. (The PyTorch twin's workers listen on 127.0.0.1 only.)


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
    """Run `workers` worker processes; return the chief's result (and the launch's)."""
    folder = run_folder / name
    command = [sys.executable, str(WORKER_SCRIPT), *worker_args(folder, *extra)]

    def group(attempt: int) -> list[launcher.Worker]:
        ports = launcher.free_ports(workers)  # fresh ones for every attempt
        return [
            launcher.Worker(
                f"worker{index}",
                command,
                {
                    **WORKER_ENV,
                    "TF_CONFIG": launcher.tf_config(ports, index),
                    "AILM_ATTEMPT": str(attempt),
                },
            )
            for index in range(workers)
        ]

    launch = launcher.launch(group, folder / "logs", TIMEOUT_SECONDS, max_restarts=max_restarts)
    result = runs.load_result(folder)
    logs = [worker.log_text() for attempt in launch.attempts for worker in attempt]
    result.update(folder=folder, wall_seconds=launch.seconds, log="".join(logs))
    return result


print("TF_CONFIG of worker 1 of 2:", launcher.tf_config([23456, 23457], 1))

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
# A worker's own output is in its log: each worker announces itself, and the chief
# reports the end.

# %%
print("\n".join(line for line in training_runs[2]["log"].splitlines() if "worker" in line))

# %% [markdown]
# ## Same computation, proven
#
# With one process, a step computes the mean loss over the `BATCH_SIZE` images of the
# global batch and its gradient. With N workers, each computes its share's summed loss
# divided by
# `BATCH_SIZE`,
# and the optimiser sums the N gradients. The sum of the N shares' sums is the sum over
# the whole batch, and the gradient is linear: **the two are the same number**, in
# exact arithmetic. In floating point they differ in the last bits, because the sums are
# taken in another order ((a + b) + c need not equal a + (b + c) in float32).
#
# So we compare the weights of the 1-worker run with those of the 2- and 4-worker runs
# after every snapshot step, as the largest absolute difference over all
# {glue:text}`tf_parameters:,d` weights.

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
glue("tf_equivalence_2", equivalence[2], display=False)
glue("tf_equivalence_4", equivalence[4], display=False)
glue("tf_final_drift_2", final_drift, display=False)
glue("tf_parameters", training_runs[1]["parameters"], display=False)
glue("EQUIVALENCE_STEPS", EQUIVALENCE_STEPS, display=False)
glue("TOLERANCE", TOLERANCE, display=False)
accuracies = {w: training_runs[w]["test_accuracy"] for w in WORKER_COUNTS[:2]}
glue("tf_accuracy_1", accuracies[1], display=False)
glue("tf_accuracy_2", accuracies[2], display=False)

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
# differ by at most {glue:text}`tf_equivalence_2:.1e` (4 workers:
# {glue:text}`tf_equivalence_4:.1e`), rounding-error size, below the tolerance of
# {glue:text}`TOLERANCE`. The difference then grows: training amplifies small
# differences, as any long chain of nonlinear steps does, sometimes in a jump: when a
# rounding difference moves a value across zero at a ReLU, or changes which pixel a
# max-pooling window picks, for one image, the two runs send that image's gradient
# along different paths (with some seeds this happens within the first few steps, which
# is why the comparison is made early). After all steps it is
# {glue:text}`tf_final_drift_2:.1e` between 1 and 2 workers. The runs are still equally
# good, with test accuracies of {glue:text}`tf_accuracy_1:.3f` and
# {glue:text}`tf_accuracy_2:.3f` for 1 and 2 workers: neither is the "right" one.
# Bit-for-bit equal runs would need the same summation order, which a different number
# of workers cannot give.

# %% [markdown]
# ## How fast is it?
#
# ### Throughput on this machine
#
# Throughput is the number of training images per second, measured by the chief over the
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
glue("tf_cores", cores, display=False)
for workers in WORKER_COUNTS:
    glue(f"tf_speedup_{workers}", throughput[workers] / throughput[1], display=False)

# %% [markdown]
# This computer has {glue:text}`tf_cores` cores, shared with whatever else runs on
# it, so these timings are upper bounds. Two workers ran at
# {glue:text}`tf_speedup_2:.2f` times the speed of one, four at
# {glue:text}`tf_speedup_4:.2f` times. Two processes on two cores can at best double
# the speed, and only if nothing else needs the cores: the notebook, the operating system
# and the other worker's communication compete with them. With four workers on two
# cores, the processes take turns on the cores, and every all-reduce waits for the
# slowest: on a quiet machine four workers cannot beat two. (On a busy machine they can
# seem to, because the operating system shares the cores among all processes, and four
# processes get a larger share than two.)
#
# ### Communication and computation
#
# After training, each worker timed its forward and backward pass alone (a gradient
# computation outside `strategy.run`, which communicates nothing) and an all-reduce
# alone (`get_replica_context().all_reduce` in `strategy.run`), of as many numbers as the
# model has weights.

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
glue("tf_gradient_mb", gradient_bytes / 1e6, display=False)
glue("tf_allreduce_ms_2", training_runs[2]["allreduce_ms"], display=False)
glue("tf_compute_ms_2", training_runs[2]["compute_ms"], display=False)
glue("tf_compute_ms_1", training_runs[1]["compute_ms"], display=False)

# %% [markdown]
# The gradients are {glue:text}`tf_gradient_mb:.2f` MB per step (4 bytes per weight).
# With two workers, one all-reduce of them took {glue:text}`tf_allreduce_ms_2:.2f` ms
# and a forward and backward pass on each worker's half batch
# {glue:text}`tf_compute_ms_2:.1f` ms (one process on the whole batch:
# {glue:text}`tf_compute_ms_1:.1f` ms). Over the loopback interface no byte leaves
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
# backward pass (PyTorch's DDP starts all-reducing a bucket of gradients as soon as it is
# ready; in our TensorFlow step the all-reduce follows the backward pass).
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
glue("tf_ours_10g_ms", 1000 * ours_10g, display=False)
glue("tf_large_100g_s", large_100g, display=False)

# %% [markdown]
# Our small model's gradients cross 10 Gbit/s Ethernet in about
# {glue:text}`tf_ours_10g_ms:.1f` ms per step on 8 machines, less than the
# {glue:text}`tf_compute_ms_1:.1f` ms one process here computes on a global batch:
# here, more machines would pay, as long as each still gets a batch big enough to keep
# it busy. A model of a billion parameters needs about
# {glue:text}`tf_large_100g_s:.2f` s per step for its gradients even over 100 Gbit/s:
# its computation per step must be of that order or larger (large batches, large
# models on fast accelerators) for the machines not to sit waiting. That is why large
# models are trained on machines joined by the fastest links available, with
# communication overlapped with computation, and why the ratio *computation per byte
# of gradient* decides whether scaling out pays.
#
# ## Survive a crash
#
# A run on many machines for days will see machines fail. Our launcher, with
# `max_restarts=1`, watches the workers: when one dies it stops the others (the survivor
# would wait for the dead one in the next all-reduce) and starts the whole group again,
# once. The new workers know nothing, unless the old ones left a checkpoint. Every
# `CHECKPOINT_EVERY` steps the workers save the weights, the optimiser's state (the
# momentum) and the step number with `tf.train.CheckpointManager` (saving is a collective
# operation: every worker saves, the chief into the real folder, the others into
# folders of their own); a worker that starts and finds the chief's checkpoint resumes
# from it. (Where `model.fit` works, the callback `keras.callbacks.BackupAndRestore` does
# the same.)
#
# We run the 2-worker training again, and make worker 1 kill itself (`SIGKILL`, no
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
        if "attempt" in line or "crashing" in line or "done" in line
    )
)

# %% [markdown]
# The logs show the crash, and both workers of the second attempt starting from the
# checkpoint (the surviving worker of the first attempt was stopped by the launcher). The
# assertions check what must hold: the second attempt started at the last checkpoint
# before the crash, finished all steps, and its test accuracy is within
# `RESUME_TOLERANCE` of the run without a crash.

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
glue("tf_resume_step", crash_run["start_step"], display=False)
glue("tf_resume_gap", accuracy_gap, display=False)
glue("tf_resume_drift", resume_drift, display=False)
glue("CRASH_AT_STEP", CRASH_AT_STEP, display=False)

# %% [markdown]
# The restarted group resumed at step {glue:text}`tf_resume_step` and lost the
# {glue:text}`CRASH_AT_STEP` − {glue:text}`tf_resume_step` steps since the
# checkpoint, nothing more. Its test accuracy differs from the uninterrupted run's by
# {glue:text}`tf_resume_gap:.4f`, and its weights by at most
# {glue:text}`tf_resume_drift:.1e`: the checkpoint holds everything the steps depend
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
# cannot be split between 2 workers:

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
# The worker script runs unchanged on several machines. Only `TF_CONFIG` changes: it
# lists the address of every worker, on every machine, and each process gets its own
# `task` index. There is no separate rendezvous service: each worker starts a server on
# its own address, and the strategy waits until it can reach all the others; worker 0
# also runs the coordination service that watches whether every worker is still alive
# (a crashed worker is reported as "unhealthy" to the others). The training data must
# be on every machine, and the checkpoint folder on storage all can read for a restart
# to resume.

# %%
NODES, PER_NODE = 2, 2
addresses = [
    f"10.0.0.{node + 1}:{23456 + slot}" for node in range(NODES) for slot in range(PER_NODE)
]
for node in range(NODES):
    for slot in range(PER_NODE):
        index = node * PER_NODE + slot
        tf_config = json.dumps(
            {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        )
        print(f"on node{node}: TF_CONFIG='{tf_config}' \\")
        print("    python utils/distributed/tf_worker.py --out /shared/run &")

# %% [markdown]
# Each machine starts one process per worker, here two, each with its own index and
# port. On GPUs the strategy would use NCCL for its collectives
# (`CommunicationOptions(implementation=...NCCL)`); nothing else in the script changes.
#
# ## Record the results
#
# The figures go to the results folder, and the comparison page shows them next to the
# PyTorch twin's.

# %%
wall_seconds = time.perf_counter() - lab_start
split_fingerprint = data.load_fashion_mnist(seed=SEED).fingerprint()
results.record_and_compare(
    "distributed_training_tf",
    "tensorflow",
    test_accuracy=round(training_runs[2]["test_accuracy"], 4),
    train_seconds=round(training_runs[2]["wall_seconds"], 1),
    wall_seconds=round(wall_seconds, 1),
    parameters=training_runs[1]["parameters"],
    split_fingerprint=split_fingerprint,
    images_per_second={w: round(throughput[w], 1) for w in WORKER_COUNTS},
    equivalence_max_difference={w: float(equivalence[w]) for w in WORKER_COUNTS[1:]},
    resume_accuracy_gap=round(accuracy_gap, 4),
    versions={"tensorflow": tf_version, "numpy": np.__version__, "python": sys.version[:6]},
)
glue("tf_wall_minutes", wall_seconds / 60, display=False)
shutil.rmtree(run_folder)  # the runs' logs, weights and checkpoints

# %% [markdown]
# ## Exercises
#
# ````{exercise}
# :label: distributed-tf-dropout
#
# Put dropout back: add `keras.layers.Dropout(0.25)` after the first `Dense` layer in
# `build_cnn` of the worker script (on a copy of it) and compare 1 and 2 workers after
# `EQUIVALENCE_STEPS` steps again. What happens to the difference, and why?
# ````
#
# ````{solution} distributed-tf-dropout
# :class: dropdown
#
# The difference jumps from rounding size to the size of a training step. Each worker
# draws dropout masks from its own random generator, for its own images, so the network
# that produces the gradients is not the one the single process uses. Both runs are valid
# training, but they are no longer the same computation. The same happens with batch
# normalisation: each worker normalises with the statistics of its own share of the batch
# (`keras.layers.BatchNormalization(synchronized=True)` shares them, at the cost of an
# all-reduce in every batch-normalisation layer).
# ````
#
# ````{exercise}
# :label: distributed-tf-adam
#
# Run the comparison with Adam: `--optimizer adam --learning-rate 0.001`. How large is
# the difference between 1 and 2 workers after `EQUIVALENCE_STEPS` steps, and after all steps?
# ````
#
# ````{solution} distributed-tf-adam
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
# :label: distributed-tf-balance
#
# Make the computation per step larger: `BATCH_SIZE = 256` and `STEPS = 40` (and the
# snapshot steps below 40). How do the throughputs of 1 and 2 workers and the share of
# the all-reduce change? Use the ring formula to say how large a batch our model needs
# for 8 machines on 10 Gbit/s Ethernet to spend less than a tenth of each step in
# communication, taking this machine's computation time per image.
# ````
#
# ````{solution} distributed-tf-balance
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
# :label: distributed-tf-checkpoint
#
# Crash at step 149 with checkpoints every 50 steps, then with checkpoints every 10
# steps. How many steps are redone each time? What does a checkpoint cost a large model
# (how many bytes, with Adam's two moments per weight)?
# ````
#
# ````{solution} distributed-tf-checkpoint
# :class: dropdown
#
# With a checkpoint every 50 steps the group resumes at step 100 and redoes 49 steps;
# every 10 steps it resumes at 140 and redoes 9. Checkpoints are not free: a model with
# P float32 weights trained with Adam writes 12 P bytes (weights and two moments), 12 GB
# for a billion weights, and all workers wait while it is written unless it is written
# in the background. The interval trades that time against the work lost in a crash.
# ````
#
# ````{exercise}
# :label: distributed-tf-fit
#
# Try `model.fit` under the strategy: in a copy of the worker script, compile the model
# in `strategy.scope()` (`model.compile(optimizer, loss_fn)` with a loss that averages)
# and call `model.fit` on the distributed dataset instead of the loop. Run it with 1 and
# with 2 workers. What happens?
# ````
#
# ````{solution} distributed-tf-fit
# :class: dropdown
#
# Keras 3 stops with a `ValueError` that contains "Attempt to convert a value
# (PerReplica...) to a Tensor": its `fit` loop receives the per-worker values that
# `MultiWorkerMirroredStrategy` produces and cannot handle them (keras-team/keras#20585,
# open when this lab was written). Check the issue for a fixed release before you rely
# on the custom loop; until then, the loop in `make_train_step` is the way, and
# `tf.train.CheckpointManager` replaces the `BackupAndRestore` callback that `fit` would
# use.
# ````

# %% [markdown]
# ## Summary
#
# 1. **The engine.** One process per worker, each with a `TF_CONFIG` that lists the
#    cluster and its own index; `MultiWorkerMirroredStrategy` connects them and mirrors
#    the variables built in `strategy.scope()`; `distribute_datasets_from_function`
#    gives each worker its share of every global batch; the optimiser all-reduces the
#    gradients, so every worker takes the same step. Keras 3's `model.fit` fails under
#    this strategy: a custom step with `strategy.run` and
#    `compute_average_loss(..., global_batch_size=...)` works.
# 2. **The same computation.** One process and N workers with the same global batch
#    compute the same gradients; the weights agreed to rounding size after
#    {glue:text}`EQUIVALENCE_STEPS` steps ({glue:text}`tf_equivalence_2:.1e` for 2
#    workers) and drift apart afterwards, as floating-point sums in another order do.
#    Batch normalisation and dropout break the equivalence unless they are synchronised.
# 3. **Speed.** On {glue:text}`tf_cores` shared cores, 2 workers ran at
#    {glue:text}`tf_speedup_2:.2f` times and 4 workers at
#    {glue:text}`tf_speedup_4:.2f` times the speed of one. On a cluster, a ring
#    all-reduce costs about 2(N − 1)/N × gradient bytes / bandwidth per step: scaling
#    out pays when that is small next to the computation per step.
# 4. **Faults.** With `tf.train.CheckpointManager` and a launcher that restarts the
#    group, a killed worker cost only the
#    steps since the last checkpoint; the resumed run ended
#    {glue:text}`tf_resume_gap:.4f` away in accuracy from the uninterrupted one.
# 5. **Two machines.** The same script; a `TF_CONFIG` that lists every worker of every
#    machine, and one process per worker.
#
# The PyTorch twin, {doc}`distributed_training_torch`, does the same with `torchrun`,
# `DistributedDataParallel` and `DistributedSampler`, and lets `torchrun` do the
# restarting.
