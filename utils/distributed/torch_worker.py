"""One PyTorch worker of a data-parallel training run. torchrun starts N copies of it.

    python -m torch.distributed.run --standalone --nproc_per_node=2 torch_worker.py --out run

Every copy trains the same convnet on Fashion-MNIST. torchrun tells each one its place
through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``, ``TORCHELASTIC_RESTART_COUNT``); ``init_process_group("gloo")`` reads them
and connects the workers. Then, at every step:

1. ``DistributedSampler`` gives each worker its own share of the global batch
   (``batch_size / world_size`` images; together they cover the global batch exactly),
   from an order of the images that every worker draws from the same seed;
2. each worker computes the loss and the gradients on its share;
3. ``DistributedDataParallel`` all-reduces the gradients during the backward pass, so
   every worker holds the average gradient over the whole global batch;
4. every worker takes the same optimiser step, and the copies of the model stay equal.

Rank 0 saves a checkpoint every ``--checkpoint-every`` steps; a worker that starts and
finds one resumes from it (this is what makes torchrun's ``--max-restarts`` useful).
``--crash-at-step`` makes rank 1 kill itself, once, to show that. Rank 0 writes
``result.json`` and the weights (``.npz``) into ``--out``.

The script runs unchanged on several machines: only torchrun's arguments change.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from utils.distributed import common


def build_cnn(num_classes: int = 10) -> nn.Sequential:
    """The image labs' convnet without batch normalisation and dropout.

    (N, 1, 28, 28) pixels in [0, 1] -> (N, 10) logits. Batch normalisation would compute
    its statistics over each worker's share of the batch (PyTorch's ``SyncBatchNorm``
    needs a GPU), and dropout draws different masks in each worker: both would make N
    workers compute something else than one process, and this script's point is that
    they compute the same.
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def set_initial_weights(model: nn.Module, seed: int) -> None:
    """The first weights, drawn in numpy from the seed: the same numbers as the Keras twin's."""
    with torch.no_grad():
        values = common.initial_weights(seed, "torch")
        for parameter, value in zip(model.parameters(), values, strict=True):
            parameter.copy_(torch.from_numpy(value))


def load_data(args: argparse.Namespace) -> tuple[torch.Tensor, ...]:
    """The training and test images as (N, 1, 28, 28) float tensors (channels first), labels."""
    x_train, y_train, x_test, y_test = common.load_arrays(args)
    return (
        torch.from_numpy(x_train[:, None]),
        torch.from_numpy(y_train),
        torch.from_numpy(x_test[:, None]),
        torch.from_numpy(y_test),
    )


def weights_of(model: nn.Module) -> dict[str, np.ndarray]:
    """Name -> float32 array of every learned weight."""
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


def save_checkpoint(path: Path, model: nn.Module, optimizer, step: int) -> None:
    """Write to a temporary file, then rename: a crash never leaves half a checkpoint."""
    partial = path.with_suffix(".partial")
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}, partial
    )
    partial.replace(path)


def train_step(ddp_model, optimizer, loss_fn, images, labels) -> float:
    """One step on this worker's share of the global batch; returns its loss.

    ``ddp_model`` is the model wrapped in ``DistributedDataParallel``: its backward pass
    all-reduces the gradients, so every worker steps with the average over all shares.
    """
    optimizer.zero_grad()
    loss = loss_fn(ddp_model(images), labels)  # the mean over this worker's share
    loss.backward()  # DDP averages the gradients over the workers here
    optimizer.step()  # the same step in every worker
    return loss.item()


def benchmark(ddp_model, x, y, loss_fn, gradient_numel: int, steps: int) -> dict[str, float]:
    """Milliseconds per step of computing alone and of an all-reduce of the gradients alone."""
    flat = torch.zeros(gradient_numel)
    compute, communicate = [], []
    for _ in range(steps):
        dist.barrier()
        start = time.perf_counter()
        with ddp_model.no_sync():  # forward and backward without DDP's all-reduce
            loss_fn(ddp_model(x), y).backward()
        compute.append(time.perf_counter() - start)
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)  # the same number of bytes as one step's gradients
        communicate.append(time.perf_counter() - start)
    return {
        "compute_ms": 1000 * float(np.median(compute)),
        "allreduce_ms": 1000 * float(np.median(communicate)),
    }


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    torch.set_num_threads(1)  # the workers share a few cores
    attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    # RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT come from torchrun. The key-value
    # store at MASTER_ADDR:MASTER_PORT is where the workers swap their addresses. It
    # outlives a restart, so each attempt uses keys of its own (a PrefixStore): without
    # it, the restarted workers read the dead workers' addresses and fail to connect.
    store, rank, world_size = next(dist.rendezvous("env://"))
    dist.init_process_group(
        "gloo", store=dist.PrefixStore(f"attempt{attempt}", store), rank=rank, world_size=world_size
    )
    x_train, y_train, x_test, y_test = load_data(args)
    steps_per_epoch = common.check_batches(args, len(x_train), world_size)
    local_batch = args.batch_size // world_size
    args.out.mkdir(parents=True, exist_ok=True)

    model = build_cnn()
    set_initial_weights(model, args.seed)
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=args.learning_rate, momentum=args.momentum
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    checkpoint = args.out / "checkpoint.pt"
    start_step = 0
    if checkpoint.exists():  # a restarted worker: continue where the last checkpoint was
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_step = state["step"]
    # DDP copies rank 0's weights to every worker, then all-reduces gradients in backward
    ddp_model = DistributedDataParallel(model)
    loss_fn = nn.CrossEntropyLoss()
    print(f"rank {rank}/{world_size} attempt {attempt}: starting at step {start_step}", flush=True)

    losses, step_seconds = [], []
    step = start_step
    while step < args.steps:
        epoch, position = divmod(step, steps_per_epoch)
        # the epoch's order comes from the seed, the same in every worker and in the
        # Keras twin; DistributedSampler, not shuffling, deals worker `rank` the images
        # at positions rank, rank + N, ... of it (common.worker_share)
        order = torch.from_numpy(common.epoch_order(args.seed, epoch, len(x_train)))
        x_epoch, y_epoch = x_train[order], y_train[order]
        sampler = DistributedSampler(x_epoch, num_replicas=world_size, rank=rank, shuffle=False)
        share = torch.tensor(list(sampler))
        while position < steps_per_epoch and step < args.steps:
            if args.crash_at_step and step == args.crash_at_step and rank == 1 and attempt == 0:
                print(f"rank {rank}: crashing on purpose at step {step}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            started = time.perf_counter()
            index = share[position * local_batch : (position + 1) * local_batch]
            loss = train_step(ddp_model, optimizer, loss_fn, x_epoch[index], y_epoch[index])
            step_seconds.append(time.perf_counter() - started)
            losses.append(loss)
            step, position = step + 1, position + 1
            if rank == 0 and step in args.snapshot_at:
                np.savez(args.out / f"weights_step{step}.npz", **weights_of(model))
            if rank == 0 and args.checkpoint_every and step % args.checkpoint_every == 0:
                save_checkpoint(checkpoint, model, optimizer, step)

    timings = {}
    if args.benchmark_steps:
        gradient_numel = sum(p.numel() for p in model.parameters())
        x_bench, y_bench = x_train[:local_batch], y_train[:local_batch]
        timings = benchmark(
            ddp_model, x_bench, y_bench, loss_fn, gradient_numel, args.benchmark_steps
        )
    if rank == 0:
        model.eval()
        with torch.no_grad():
            accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
        common.write_result(
            args,
            weights_of(model),
            step_seconds,
            framework="pytorch",
            world_size=world_size,
            attempt=attempt,
            start_step=start_step,
            steps=step,
            test_accuracy=accuracy,
            parameters=sum(p.numel() for p in model.parameters()),
            losses=losses,
            **timings,
        )
        print(f"rank 0: done, {step} steps, test accuracy {accuracy:.4f}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
