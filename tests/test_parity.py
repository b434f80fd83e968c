"""The TensorFlow and PyTorch twins stay twins.

- helper modules: the same public names with the same parameters (by signature);
- twin labs: the same headings in the same order, and the same hyperparameters.

The labs are parsed as text (their UPPER_CASE constants are plain literals), so this
test runs in well under a second and needs neither framework.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LABS = REPO_ROOT / "labs"

HELPER_TWINS = [
    ("utils.tf_helpers", "utils.torch_helpers"),
    ("utils.pretrained_tf", "utils.pretrained_torch"),
    ("utils.gpt_tf", "utils.gpt_torch"),
]


def twin_labs() -> list[tuple[Path, Path]]:
    pairs = []
    for tf_lab in sorted(LABS.glob("*_tf.py")):
        torch_lab = tf_lab.with_name(tf_lab.name.replace("_tf.py", "_torch.py"))
        pairs.append((tf_lab, torch_lab))
    return pairs


def public_functions(module_name: str) -> dict[str, inspect.Signature]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = {}
    for name in names:
        obj = getattr(module, name)
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            found[name] = inspect.signature(obj)
    return found


def comparable(signature: inspect.Signature) -> list[tuple[str, str, object]]:
    """Parameter names, kinds and defaults (annotations differ by framework on purpose)."""
    return [(p.name, p.kind.name, p.default) for p in signature.parameters.values()]


@pytest.mark.slow
@pytest.mark.parametrize(("tf_module", "torch_module"), HELPER_TWINS)
def test_helper_twins_expose_the_same_functions(tf_module, torch_module):
    tf_side = public_functions(tf_module)
    torch_side = public_functions(torch_module)
    assert tf_side, f"{tf_module} exposes no public function"
    only_tf = sorted(set(tf_side) - set(torch_side))
    only_torch = sorted(set(torch_side) - set(tf_side))
    assert not only_tf and not only_torch, (
        f"only in {tf_module}: {only_tf}; only in {torch_module}: {only_torch}"
    )
    for name in sorted(tf_side):
        assert comparable(tf_side[name]) == comparable(torch_side[name]), (
            f"{name}: {tf_module}{tf_side[name]} vs {torch_module}{torch_side[name]}"
        )


def test_every_tf_lab_has_a_torch_twin():
    pairs = twin_labs()
    assert pairs, "no *_tf.py lab found"
    for tf_lab, torch_lab in pairs:
        assert torch_lab.is_file(), f"{tf_lab.name} has no twin {torch_lab.name}"
    torch_labs = {p.name for p in LABS.glob("*_torch.py")}
    assert torch_labs == {torch.name for _, torch in pairs}


def headings(lab: Path) -> list[str]:
    """Markdown headings of a py:percent lab, in order (# ## ### ...)."""
    found = []
    in_markdown = False
    for line in lab.read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line
            continue
        match = re.match(r"^# (#{1,4}) (.+)$", line)
        if in_markdown and match:
            found.append(f"{match.group(1)} {match.group(2).strip()}")
    return found


def normalise(heading: str) -> str:
    """Framework names may differ between twins; everything else must not."""
    return re.sub(r"\b(TensorFlow|Keras|PyTorch)\b", "<framework>", heading)


@pytest.mark.parametrize(("tf_lab", "torch_lab"), twin_labs(), ids=lambda p: p.stem)
def test_twin_labs_have_the_same_headings(tf_lab, torch_lab):
    tf_headings = [normalise(h) for h in headings(tf_lab)]
    torch_headings = [normalise(h) for h in headings(torch_lab)]
    assert len(tf_headings) >= 5, f"{tf_lab.name} has too few headings to be a lab"
    assert tf_headings == torch_headings


def hyperparameters(lab: Path) -> dict[str, object]:
    """UPPER_CASE constants assigned a literal (or a course setting such as ``config.SEED``).

    Names bound to framework objects (``DEVICE = torch_helpers.get_device()``) are not
    hyperparameters and may exist in one twin only.
    """
    import jupytext

    code = jupytext.read(lab, fmt="py:percent")
    found = {}
    for cell in code.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # IPython magics; not where constants live
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if not (
                    isinstance(target, ast.Name) and re.fullmatch(r"[A-Z][A-Z0-9_]+", target.id)
                ):
                    continue
                value = ast.unparse(node.value)
                try:
                    found[target.id] = repr(ast.literal_eval(node.value))
                except ValueError:
                    if value.startswith("config."):
                        found[target.id] = value
    return found


@pytest.mark.parametrize(("tf_lab", "torch_lab"), twin_labs(), ids=lambda p: p.stem)
def test_twin_labs_share_their_hyperparameters(tf_lab, torch_lab):
    tf_constants = hyperparameters(tf_lab)
    torch_constants = hyperparameters(torch_lab)
    for required in ("SEED", "BATCH_SIZE", "LEARNING_RATE"):
        assert required in tf_constants, f"{tf_lab.name} does not define {required}"
    shared = set(tf_constants) & set(torch_constants)
    differing = {
        k: (tf_constants[k], torch_constants[k])
        for k in shared
        if tf_constants[k] != torch_constants[k]
    }
    assert not differing, f"twins disagree on: {differing}"
    only_one = sorted(set(tf_constants) ^ set(torch_constants))
    assert not only_one, f"constants defined in one twin only: {only_one}"
