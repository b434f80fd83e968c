"""Helper package for the course *AI Large Models: Learning and Advancement*.

The package imports no deep-learning framework at import time: ``utils.data``,
``utils.config`` and ``utils.plots`` are numpy/matplotlib only, and the framework
sides live in ``utils.tf_helpers`` and ``utils.torch_helpers``, imported only by
the labs that need them.
"""

__version__ = "0.1.0"
