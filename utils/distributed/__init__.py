"""Data-parallel training on the frameworks' own distributed engines, on one machine.

- :mod:`utils.distributed.launcher`: starts worker processes (or ``torchrun``) on
  ``127.0.0.1``, picks free ports, enforces a timeout, restarts a failed group when asked,
  and kills every process it started when anything goes wrong. Framework-free.
- ``torch_worker.py``: the script ``torchrun`` runs in every PyTorch worker
  (``DistributedDataParallel``, ``DistributedSampler``, the ``gloo`` backend).
- ``tf_worker.py``: the script each TensorFlow worker runs
  (``MultiWorkerMirroredStrategy``, one process per worker described by ``TF_CONFIG``).
- :mod:`utils.distributed.common`: what both worker scripts share (numpy only): their
  arguments, the data, each epoch's order and each worker's share of it, the first
  weights (the same numbers in both frameworks), and the result they write.

The worker scripts are plain Python files that run unchanged on several machines; the
labs ``distributed_training_torch`` and ``distributed_training_tf`` launch them.
"""
