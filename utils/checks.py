"""Argument checks shared by both frameworks' helpers (no framework imported here).

``utils.tf_helpers`` and ``utils.torch_helpers`` call the same check, so a wrong
setting gives the same message in a Keras lab and in its PyTorch twin.
"""

from __future__ import annotations

import numbers
from typing import Any


def check_training_settings(
    epochs: Any, batch_size: Any, learning_rate: Any, patience: Any
) -> None:
    """Validate the settings of both frameworks' ``train``.

    Raises:
        ValueError: naming the setting: ``epochs`` and ``batch_size`` must be ints >= 1,
            ``patience`` an int >= 0, ``learning_rate`` a positive number.
    """
    for name, value, smallest in (
        ("epochs", epochs, 1),
        ("batch_size", batch_size, 1),
        ("patience", patience, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise ValueError(f"{name} must be an int >= {smallest}, got {value!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
