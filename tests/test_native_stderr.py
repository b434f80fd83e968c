"""utils.native_stderr: TensorFlow's start-up notices are dropped, every other line is kept."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from utils import native_stderr

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from utils import native_stderr
    native_stderr.drop_native_notices()
    assert native_stderr.drop_native_notices() is False  # installs once
    os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see...\\n")
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called ...\\n")
    os.write(2, b"keep: a real error\\n")
    os.write(2, b"E0000 util.cc:131] oneDNN supports DT_BOOL only on platforms with AVX-512.\\n")
    print("python's own stderr line", file=sys.stderr)
    os.write(2, b"last line without a newline")
    """
)


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )


def test_notices_dropped_everything_else_kept_in_order():
    stderr = run(SCRIPT).stderr
    assert "oneDNN custom operations" not in stderr
    assert "absl::InitializeLog" not in stderr
    assert "DT_BOOL" not in stderr
    assert stderr == (
        "keep: a real error\npython's own stderr line\nlast line without a newline"
    ), stderr


@pytest.mark.slow
def test_tensorflow_with_onednn_prints_no_notice():
    """The real thing: import TensorFlow with oneDNN on and run a masked LSTM."""
    script = textwrap.dedent(
        """
        import os
        os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
        from utils import config
        config.quiet_tensorflow()
        assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"
        import keras, numpy as np
        model = keras.Sequential([keras.Input((5, 3)), keras.layers.Masking(),
                                  keras.layers.LSTM(4), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        model.fit(np.ones((8, 5, 3)), np.ones(8), verbose=0)
        """
    )
    stderr = run(script).stderr
    assert not re.search(r"oneDNN|InitializeLog", stderr), stderr


def test_patterns_must_be_compiled():
    with pytest.raises(TypeError, match="compiled regular expressions"):
        native_stderr.drop_native_notices(("oneDNN",))
