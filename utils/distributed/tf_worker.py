"""One TensorFlow worker of a data-parallel training run. Start one copy per worker.

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
               "task": {"type": "worker", "index": 0}}' python tf_worker.py --out run

Every copy gets the same cluster (the address of every worker) and its own index in
``TF_CONFIG``; ``MultiWorkerMirroredStrategy`` reads it, starts a server on the worker's
own address and connects to the others. Worker 0 is the *chief*: it writes the results
and the checkpoints. At every step:

1. ``distribute_datasets_from_function`` has each worker build its own share of every
   global batch (``batch_size / workers`` images; together they cover the global batch
   exactly), from an order of the images that every worker draws from the same seed;
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
import os
import signal
import time

from utils import config  # noqa: E402

# Before TensorFlow is imported: oneDNN's fast CPU kernels on, start-up notices kept out
# of this worker's log (which the lab shows when a launch fails).
config.quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils.distributed import common  # noqa: E402


def build_cnn(num_classes: int = 10) -> keras.Sequential:
    """The image labs' convnet without batch normalisation and dropout.

    (N, 28, 28, 1) pixels in [0, 1] -> (N, 10) logits. Batch normalisation would compute
    its statistics over each worker's share of the batch, and dropout draws different
    masks in each worker: both would make N workers compute something else than one
    process, and this script's point is that they compute the same. The first weights
    are set afterwards, from numpy (``common.initial_weights``), the same numbers as the
    PyTorch twin's.
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(num_classes),
        ]
    )


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    """The training and test images as (N, 28, 28, 1) float32 arrays (channels last), labels."""
    x_train, y_train, x_test, y_test = common.load_arrays(args)
    return x_train[..., None], y_train, x_test[..., None], y_test


def epoch_dataset(x, y, epoch: int, first_batch: int, args, context) -> tf.data.Dataset:
    """This worker's share of one epoch, in batches of ``batch_size / workers`` images.

    The epoch's order comes from the seed, the same in every worker (and in the PyTorch
    twin); worker i keeps the images at positions i, i + N, ... of it, as PyTorch's
    ``DistributedSampler`` deals them: its k-th batch is its share of global batch k.
    ``context`` (a ``tf.distribute.InputContext``) tells the worker its index and N.
    """
    order = common.epoch_order(args.seed, epoch, len(x))
    share = common.worker_share(order, context.input_pipeline_id, context.num_input_pipelines)
    local_batch = context.get_per_replica_batch_size(args.batch_size)
    dataset = tf.data.Dataset.from_tensor_slices((x[share], y[share]))
    return dataset.batch(local_batch, drop_remainder=True).skip(first_batch)


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
    args = common.parse_args(__doc__.splitlines()[0], argv)
    tf.config.threading.set_intra_op_parallelism_threads(1)  # the workers share a few cores
    # reads TF_CONFIG, starts this worker's server and connects to the other workers
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    index, workers = resolver.task_id, strategy.num_replicas_in_sync
    is_chief = index == 0
    attempt = int(os.environ.get("AILM_ATTEMPT", "0"))
    x_train, y_train, x_test, y_test = load_data(args)
    steps_per_epoch = common.check_batches(args, len(x_train), workers)
    args.out.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(args.seed)
    with strategy.scope():  # variables created here are mirrored on every worker
        model = build_cnn()
        # the first weights: drawn in numpy, the same numbers as the PyTorch twin's
        model.set_weights(common.initial_weights(args.seed, "keras"))
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
        shares = strategy.distribute_datasets_from_function(
            lambda context, epoch=epoch, position=position: epoch_dataset(
                x_train, y_train, epoch, position, args, context
            )
        )
        for images, labels in shares:
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
        common.write_result(
            args,
            weights_of(model),
            step_seconds,
            framework="tensorflow",
            world_size=workers,
            attempt=attempt,
            start_step=start_step,
            steps=step,
            test_accuracy=accuracy,
            parameters=int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            losses=losses,
            **timings,
        )
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
