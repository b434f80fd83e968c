"""One TensorFlow worker of a data-parallel training run. Start one copy per worker.

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
               "task": {"type": "worker", "index": 0}}' python tf_worker.py --out run

Every copy gets the same cluster (the address of every worker) and its own index in
``TF_CONFIG``; ``MultiWorkerMirroredStrategy`` reads it, starts a server on the worker's
own address and connects to the others. Worker 0 is the *chief*: it writes the results
and the checkpoints. At every step:

1. ``experimental_distribute_dataset`` gives each worker its share of the global batch
   (``batch_size / workers`` images; together they cover the global batch exactly);
2. each worker computes the loss on its share, scaled by ``compute_average_loss`` so that
   the gradients of all shares add up to the gradient of the global batch's mean loss;
3. the optimiser all-reduces (sums) the gradients across the workers, and every worker
   takes the same step, so the copies of the model stay equal.

Keras 3's ``model.fit`` fails under this strategy ("Attempt to convert a value
(PerReplica...) to a Tensor", keras-team/keras#20585), so the loop is written out:
layers and optimiser built in ``strategy.scope()``, a ``tf.function`` step that calls
``strategy.run``, and ``strategy.reduce`` for the loss.

A worker that starts and finds a checkpoint resumes from it (``tf.train.CheckpointManager``);
``--crash-at-step`` makes worker 1 kill itself in the first attempt (``AILM_ATTEMPT=0``),
and the launcher starts the group again. The script runs unchanged on several machines:
only ``TF_CONFIG`` changes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

from utils import config  # noqa: E402

# Before TensorFlow is imported: oneDNN's fast CPU kernels on, start-up notices kept out
# of this worker's log (which the lab shows when a launch fails).
config.quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils import data  # noqa: E402


def build_cnn(num_classes: int = 10) -> keras.Sequential:
    """The image labs' convnet without batch normalisation and dropout.

    (N, 28, 28, 1) pixels in [0, 1] -> (N, 10) logits. Batch normalisation would compute
    its statistics over each worker's share of the batch, and dropout draws different
    masks in each worker: both would make N workers compute something else than one
    process, and this script's point is that they compute the same. Weights and biases
    start as PyTorch's do (uniform in +-1/sqrt(fan_in)), as in the image labs, so that
    the twins train the same model.
    """

    def torch_like(fan_in: int) -> dict[str, keras.initializers.Initializer]:
        limit = fan_in**-0.5
        return {
            "kernel_initializer": keras.initializers.VarianceScaling(
                scale=1 / 3, mode="fan_in", distribution="uniform"
            ),
            "bias_initializer": keras.initializers.RandomUniform(-limit, limit),
        }

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", **torch_like(1 * 9)),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", **torch_like(16 * 9)),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", **torch_like(32 * 7 * 7)),
            keras.layers.Dense(num_classes, **torch_like(128)),
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for results")
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps in all")
    parser.add_argument("--batch-size", type=int, default=64, help="GLOBAL batch size")
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--momentum", type=float, default=0.9, help="for SGD")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-per-class", type=int, default=640)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument(
        "--snapshot-at", type=int, nargs="*", default=[], help="steps after which to save weights"
    )
    parser.add_argument("--checkpoint-every", type=int, default=0, help="0: no checkpoints")
    parser.add_argument("--crash-at-step", type=int, default=0, help="worker 1 dies (once)")
    parser.add_argument("--benchmark-steps", type=int, default=0, help="compute/comm timing")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "train_per_class", "test_per_class"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    """Class-balanced subsets of the training and test images, channels last, float32."""
    splits = data.load_fashion_mnist(seed=args.seed)
    x_train, y_train = data.subsample_per_class(
        splits.x_train, splits.y_train, args.train_per_class, seed=args.seed
    )
    x_test, y_test = data.subsample_per_class(
        splits.x_test, splits.y_test, args.test_per_class, seed=args.seed
    )
    return (
        x_train[..., None].astype(np.float32) / 255,  # (N, 28, 28, 1)
        y_train,
        x_test[..., None].astype(np.float32) / 255,
        y_test,
    )


def epoch_dataset(x, y, epoch: int, first_batch: int, args) -> tf.data.Dataset:
    """One epoch in global batches, shuffled by a seed that every worker shares."""
    order = np.random.default_rng([args.seed, epoch]).permutation(len(x))
    dataset = tf.data.Dataset.from_tensor_slices((x[order], y[order]))
    dataset = dataset.batch(args.batch_size, drop_remainder=True).skip(first_batch)
    options = tf.data.Options()
    # each worker keeps its slice of every global batch
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def weights_of(model: keras.Model) -> dict[str, np.ndarray]:
    """Name -> float32 array of every weight, numbered in the model's order."""
    return {
        f"{i:02d}_{w.path}".replace("/", "."): np.asarray(w) for i, w in enumerate(model.weights)
    }


def make_train_step(strategy, model, optimizer, loss_fn, global_batch_size: int):
    """A compiled step: each worker on its share of the global batch; returns the mean loss."""

    def replica_step(images, labels):  # runs in every worker, on its own share
        with tf.GradientTape() as tape:
            per_example = loss_fn(labels, model(images, training=True))
            # this share's summed losses / the GLOBAL batch size: summed over the workers,
            # the gradients are those of the mean loss over the global batch
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        gradients = tape.gradient(loss, model.trainable_variables)
        # under the strategy, the optimiser all-reduces (sums) the gradients first
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def train_step(images, labels):
        per_worker = strategy.run(replica_step, args=(images, labels))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_worker, axis=None)

    return train_step


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(1)  # the workers share a few cores
    # reads TF_CONFIG, starts this worker's server and connects to the other workers
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    index, workers = resolver.task_id, strategy.num_replicas_in_sync
    is_chief = index == 0
    attempt = int(os.environ.get("AILM_ATTEMPT", "0"))
    if args.batch_size % workers:
        raise SystemExit(f"--batch-size {args.batch_size} is not divisible by {workers} workers")
    args.out.mkdir(parents=True, exist_ok=True)

    x_train, y_train, x_test, y_test = load_data(args)
    if len(x_train) % args.batch_size:
        raise SystemExit(
            f"{len(x_train)} training images do not split into batches of {args.batch_size}"
        )
    steps_per_epoch = len(x_train) // args.batch_size

    keras.utils.set_random_seed(args.seed)
    with strategy.scope():  # variables created here are mirrored on every worker
        model = build_cnn()
        if args.optimizer == "sgd":
            optimizer = keras.optimizers.SGD(args.learning_rate, momentum=args.momentum)
        else:
            optimizer = keras.optimizers.Adam(args.learning_rate)
        optimizer.build(model.trainable_variables)
        step_counter = tf.Variable(0, dtype=tf.int64, trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step_counter)
    # every worker must save (saving is a collective operation), but only the chief's
    # copy is kept: the others write to a folder of their own
    folder = args.out / "checkpoints" if is_chief else args.out / f"checkpoints_worker{index}"
    manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=2)
    latest = tf.train.latest_checkpoint(str(args.out / "checkpoints"))
    if latest:  # a restarted worker: continue where the last checkpoint was
        checkpoint.restore(latest)
    start_step = int(step_counter.numpy())
    loss_fn = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True,
        reduction=None,  # per-example losses; we average ourselves
    )

    train_step = make_train_step(strategy, model, optimizer, loss_fn, args.batch_size)

    print(f"worker {index}/{workers} attempt {attempt}: starting at step {start_step}", flush=True)
    losses, step_seconds = [], []
    step = start_step
    while step < args.steps:
        epoch, position = divmod(step, steps_per_epoch)
        dataset = epoch_dataset(x_train, y_train, epoch, position, args)
        for images, labels in strategy.experimental_distribute_dataset(dataset):
            if step >= args.steps:
                break
            if args.crash_at_step and step == args.crash_at_step and index == 1 and attempt == 0:
                print(f"worker {index}: crashing on purpose at step {step}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            started = time.perf_counter()
            loss = train_step(images, labels)
            losses.append(float(loss))  # waits for the step to finish
            step_seconds.append(time.perf_counter() - started)
            step += 1
            step_counter.assign(step)
            if is_chief and step in args.snapshot_at:
                np.savez(args.out / f"weights_step{step}.npz", **weights_of(model))
            if args.checkpoint_every and step % args.checkpoint_every == 0:
                manager.save(checkpoint_number=step)

    timings = (
        benchmark(strategy, model, loss_fn, x_train, y_train, args) if args.benchmark_steps else {}
    )
    if is_chief:
        # a plain call, not model.predict: under the strategy, predict would wait for
        # the other workers, which have finished
        logits = np.concatenate(
            [model(x_test[i : i + 500]).numpy() for i in range(0, len(x_test), 500)]
        )
        accuracy = float(np.mean(logits.argmax(1) == y_test))
        timed = step_seconds[2:] if len(step_seconds) > 4 else step_seconds  # skip tracing
        parameters = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        result = {
            "framework": "tensorflow",
            "world_size": workers,
            "attempt": attempt,
            "start_step": start_step,
            "steps": step,
            "batch_size": args.batch_size,
            "test_accuracy": accuracy,
            "step_ms": 1000 * float(np.median(timed)) if timed else None,
            "examples_per_second": args.batch_size * len(timed) / sum(timed) if timed else None,
            "parameters": parameters,
            "gradient_bytes": 4 * parameters,
            "losses": losses,
            **timings,
        }
        np.savez(args.out / "weights_final.npz", **weights_of(model))
        (args.out / "result.json").write_text(json.dumps(result, indent=1))
        print(f"worker 0: done, {step} steps, test accuracy {accuracy:.4f}", flush=True)


def benchmark(strategy, model, loss_fn, x_train, y_train, args) -> dict[str, float]:
    """Milliseconds per step of computing alone and of an all-reduce of the gradients alone."""
    local = args.batch_size // strategy.num_replicas_in_sync
    images, labels = tf.constant(x_train[:local]), tf.constant(y_train[:local])
    size = sum(int(np.prod(v.shape)) for v in model.trainable_variables)

    @tf.function
    def compute():  # forward and backward on this worker's share, no communication
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_fn(labels, model(images, training=True)))
        return tape.gradient(loss, model.trainable_variables)

    @tf.function
    def communicate():  # an all-reduce of as many numbers as the model has weights
        def all_reduce():
            context = tf.distribute.get_replica_context()
            return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.zeros([size]))

        return strategy.run(all_reduce)

    compute_times, communicate_times = [], []
    for _ in range(args.benchmark_steps + 2):
        communicate()  # also keeps the workers in step before the compute timing
        started = time.perf_counter()
        [gradient.numpy() for gradient in compute()]
        compute_times.append(time.perf_counter() - started)
        communicate()
        started = time.perf_counter()
        np.asarray(communicate())
        communicate_times.append(time.perf_counter() - started)
    return {
        "compute_ms": 1000 * float(np.median(compute_times[2:])),
        "allreduce_ms": 1000 * float(np.median(communicate_times[2:])),
    }


if __name__ == "__main__":
    main()
