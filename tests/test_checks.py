"""Tests of utils.checks: the argument checks both frameworks' helpers share."""

from __future__ import annotations

import numpy as np
import pytest

from utils import checks, config


def test_good_settings_pass():
    checks.check_training_settings(epochs=1, batch_size=32, learning_rate=1e-3, patience=0)
    checks.check_training_settings(3, 8, np.float32(0.01), 2)


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ((0, 32, 1e-3, 1), "epochs"),
        ((2, True, 1e-3, 1), "batch_size"),
        ((2, 32, 0.0, 1), "learning_rate"),
        ((2, 32, "0.1", 1), "learning_rate"),
        ((2, 32, 1e-3, -1), "patience"),
        ((2.0, 32, 1e-3, 1), "epochs"),
    ],
)
def test_bad_settings_name_the_setting(settings, name):
    with pytest.raises(ValueError, match=name):
        checks.check_training_settings(*settings)


def test_both_frameworks_use_the_one_check():
    source = {
        module: (config.REPO_ROOT / "utils" / f"{module}.py").read_text(encoding="utf-8")
        for module in ("tf_helpers", "torch_helpers")
    }
    for text in source.values():
        assert "check_training_settings(epochs, batch_size, learning_rate, patience)" in text
        assert "def _check_training_settings" not in text
