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
# # Lab 0: Check your setup
#
# *Runs in under a minute on a laptop CPU.*
#
# Before the real labs, make sure that the course's environment works on your machine:
# both deep-learning frameworks import, they agree on a tiny computation, the
# course's helper package `utils` is importable, and plots appear.
#
# **What you will check**
# - TensorFlow (with Keras 3) and PyTorch import in the same kernel;
# - which accelerator each framework would use (a CPU is all the course needs);
# - both frameworks compute the same matrix product;
# - where the course keeps its data (`AILM_DATA_DIR`).
#
# If a cell fails, the error message says what to install or run; the FAQ,
# {doc}`../chapters/08_faq`, answers the common setup questions (GPU, offline use,
# where the data come from), and the README covers installation on each system.

# %% [markdown]
# ## Setup
#
# TensorFlow prints start-up notices (about oneDNN and CPU features) unless two
# environment variables are set *before* it is imported. `utils.config.quiet_tensorflow()`
# sets them, so it comes first.

# %%
import platform
import time

import matplotlib.pyplot as plt
import numpy as np

from utils import config

config.quiet_tensorflow()

import keras
import tensorflow as tf
import torch

start_time = time.perf_counter()
print(f"Python      {platform.python_version()} on {platform.machine()}")
print(f"NumPy       {np.__version__}")
print(
    f"TensorFlow  {tf.__version__} (Keras {keras.__version__}, backend {keras.backend.backend()})"
)
print(f"PyTorch     {torch.__version__}")

# %% [markdown]
# ## Which device would each framework use?
#
# The labs are written for a CPU and pick a GPU when one is present: PyTorch code
# passes a `device` explicitly, and TensorFlow places operations on a GPU by itself.

# %%
tf_gpus = tf.config.list_physical_devices("GPU")
torch_device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"TensorFlow sees {len(tf_gpus)} GPU(s); PyTorch would use: {torch_device}")
print(f"CPU threads PyTorch uses: {torch.get_num_threads()}")

# %% [markdown]
# ## Do the two frameworks agree?
#
# The same random matrices, multiplied by NumPy, TensorFlow and PyTorch, must give
# the same product up to float32 rounding.

# %%
rng = np.random.default_rng(config.SEED)
left = rng.standard_normal((64, 32)).astype(np.float32)
right = rng.standard_normal((32, 16)).astype(np.float32)

reference = left @ right
with_tensorflow = tf.matmul(left, right).numpy()
with_pytorch = (torch.from_numpy(left) @ torch.from_numpy(right)).numpy()

largest_gap = max(np.abs(with_tensorflow - reference).max(), np.abs(with_pytorch - reference).max())
print(f"largest difference from NumPy: {largest_gap:.2e}")
assert with_tensorflow.shape == with_pytorch.shape == (64, 16)
assert largest_gap < 1e-4, "TensorFlow or PyTorch disagrees with NumPy: the install is broken"

# %% [markdown]
# ## Do plots appear?
#
# One activation function from each framework, drawn with matplotlib. If you see the
# figure below, plotting works.

# %%
inputs = np.linspace(-4, 4, 200, dtype=np.float32)
relu_tf = keras.activations.relu(inputs).numpy()
sigmoid_torch = torch.sigmoid(torch.from_numpy(inputs)).numpy()

figure, axis = plt.subplots(figsize=(6, 3.5))
axis.plot(inputs, relu_tf, label="ReLU (Keras)")
axis.plot(inputs, sigmoid_torch, label="sigmoid (PyTorch)")
axis.set_xlabel("input")
axis.set_ylabel("output")
axis.set_title("Two activation functions, two frameworks")
axis.legend()
axis.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## Where does the course keep its data?
#
# Data sets are cached in one folder, set by the environment variable `AILM_DATA_DIR`
# (default: `~/.cache/ailm-course`). `make setup` fills it; nothing is downloaded while
# a lab runs.

# %%
print(f"data folder: {config.data_dir()}")
print(f"results folder: {config.results_dir()}")
print(f"wall time: {time.perf_counter() - start_time:.1f} s")

# %% [markdown]
# ## Summary
#
# If every cell above ran, your environment is ready: both frameworks work and agree,
# and plots render. Continue with the {doc}`text classification lab <text_classification_tf>`.
