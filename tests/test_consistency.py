"""What the chapters say about the labs agrees with the labs.

Figures about the labs' *runs* are glued into the pages from the recorded results (MyST-NB
``glue``); this module checks the rest, without running anything:

- constants the text quotes (sequence length, image size, sizes of the data used,
  parameter counts derived from the hyperparameters) are read from the labs'
  hyperparameter cells and must appear, formatted as the text writes them;
- every lab section a page names exists in the labs;
- every ``{glue}`` key a page uses is glued by that page;
- statements that were found false (issue 12) do not come back.

When a lab changes a constant, these tests name the sentence that has gone stale.
"""

from __future__ import annotations

import ast
import math
import re
from functools import cache

import pytest

from tests.booktools import REPO_ROOT

CHAPTERS = REPO_ROOT / "chapters"
LABS = REPO_ROOT / "labs"
PAGES = sorted(CHAPTERS.glob("*.md")) + [
    REPO_ROOT / "intro.md",
    REPO_ROOT / "reports" / "framework_comparison.md",
]


@cache
def lab_constants(stem: str) -> dict[str, object]:
    """The UPPER_CASE constants a lab assigns to literals at its top level."""
    tree = ast.parse((LABS / f"{stem}.py").read_text(encoding="utf-8"))
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    constants[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass  # not a literal, such as SEED = config.SEED
    return constants


@cache
def lab_headings(stem: str) -> frozenset[str]:
    """A lab's section titles (its ``# #``, ``# ##`` and ``# ###`` Markdown lines)."""
    lines = (LABS / f"{stem}.py").read_text(encoding="utf-8").splitlines()
    return frozenset(
        re.sub(r"^# #+ ", "", line).strip() for line in lines if re.match(r"^# #{1,3} ", line)
    )


def text(relative: str) -> str:
    return (REPO_ROOT / relative).read_text(encoding="utf-8")


def flat(relative: str) -> str:
    """A page with its line breaks (and a lab's comment markers) folded into spaces."""
    body = text(relative)
    if relative.endswith(".py"):
        body = "\n".join(line.removeprefix("# ").removeprefix("#") for line in body.splitlines())
    return re.sub(r"\s+", " ", body)


def derived() -> dict[str, object]:
    """The constants of both lab pairs, and what the text computes from them."""
    text_lab = lab_constants("text_classification_tf")
    image_lab = lab_constants("image_classification_tf")
    units, width = text_lab["LSTM_UNITS"], text_lab["EMBEDDING_DIM"]
    lstm = 4 * (units * (units + width) + units)
    keras_model = text_lab["MAX_TOKENS"] * width + lstm + units + 1
    size = image_lab["IMAGE_SIZE"]
    return {
        **text_lab,
        **image_lab,
        "LSTM_PARAMETERS": lstm,
        "KERAS_TEXT_MODEL": keras_model,
        "TORCH_TEXT_MODEL": keras_model + 4 * units,
        "GRID": math.ceil(size / 32),
        "GRID_AT_BLOCK_8": math.ceil(size / 16),
        "TRAIN_IMAGES": 10 * image_lab["PER_CLASS"],
        "VGG_HEAD": 7 * 7 * 512 * 512 + 512 + 512 * 10 + 10,
    }


#: (page, sentence template): after ``str.format`` with :func:`derived`, the sentence
#: must appear in the page (whitespace folded). Each one quotes a lab constant.
QUOTED_CONSTANTS = [
    (
        "chapters/04_best_practices.md",
        'Vocabulary.encode(..., max_len={SEQUENCE_LENGTH}, padding="post")',
    ),
    (
        "chapters/04_best_practices.md",
        "$4\\,(64 \\times 128 + 64) = 4 \\times 8{{,}}256 = 33{{,}}024$",
    ),
    ("chapters/04_best_practices.md", "the source text's model has {KERAS_TEXT_MODEL:,}"),
    ("chapters/04_best_practices.md", "$640{{,}}000 + 33{{,}}024 + 65 = 673{{,}}089$"),
    (
        "chapters/04_best_practices.md",
        "Both labs pretend to have only {TRANSFER_EXAMPLES:,} labelled snippets",
    ),
    ("chapters/04_best_practices.md", "`({TRAIN_IMAGES}, {GRID}, {GRID}, 1280)` in Keras"),
    ("chapters/04_best_practices.md", "`({TRAIN_IMAGES}, 1280, {GRID}, {GRID})` in PyTorch"),
    ("chapters/04_best_practices.md", "resize to {IMAGE_SIZE} × {IMAGE_SIZE}"),
    (
        "chapters/04_best_practices.md",
        "At {IMAGE_SIZE} pixels, the lower base used further down happens to give a "
        "{GRID_AT_BLOCK_8} × {GRID_AT_BLOCK_8} × 80 map",
    ),
    ("chapters/04_best_practices.md", "the same {TRAIN_IMAGES:,} images"),
    ("labs/text_classification_torch.py", "256 more than the Keras twin's {KERAS_TEXT_MODEL:,}"),
    ("labs/text_classification_tf.py", "{SEQUENCE_LENGTH} words keep more than 99.9 %"),
    ("labs/text_classification_torch.py", "{SEQUENCE_LENGTH} words keep more than 99.9 %"),
]


@pytest.mark.parametrize(("page", "template"), QUOTED_CONSTANTS)
def test_quoted_constants_match_the_labs(page, template):
    sentence = template.format(**derived())
    assert sentence in flat(page), (
        f"{page} should say {sentence!r} (from the labs' constants): a lab changed, or the "
        "text did; update the sentence or glue the value"
    )


def test_the_lstm_arithmetic_matches_its_formula():
    values = derived()
    assert values["LSTM_PARAMETERS"] == 33_024 and values["KERAS_TEXT_MODEL"] == 673_089
    assert values["TORCH_TEXT_MODEL"] == 673_345 and values["VGG_HEAD"] == 12_850_698


def test_the_twins_agree_on_every_shared_constant():
    for task in ("text_classification", "image_classification"):
        keras_side, torch_side = lab_constants(f"{task}_tf"), lab_constants(f"{task}_torch")
        differing = {
            name: (keras_side[name], torch_side[name])
            for name in keras_side.keys() & torch_side.keys()
            if keras_side[name] != torch_side[name]
        }
        assert not differing, f"{task} twins disagree: {differing}"


def all_lab_headings() -> set[str]:
    return set().union(*(lab_headings(path.stem) for path in LABS.glob("*.py")))


#: italic names that a sentence presents as lab sections
SECTION_REFERENCE = re.compile(
    r"(?:sections?|Part [AB]'s) \*([^*]+)\*"  # "section *X*", "Part A's *X*"
    r"|\*([^*]+)\*(?= (?:sections?\b|\((?:text|images)\)))"  # "*X* section", "*X* (text)"
)


def section_references(body: str) -> list[str]:
    return [a or b for a, b in SECTION_REFERENCE.findall(re.sub(r"\s+", " ", body))]


def test_section_references_are_recognised():
    found = section_references("the *Train* section, section *Evaluate*, *Look* (images)")
    assert found == ["Train", "Evaluate", "Look"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_lab_section_a_page_names_exists(page):
    headings = all_lab_headings()
    missing = sorted(
        {
            name
            for name in section_references(page.read_text(encoding="utf-8"))
            if name not in headings
        }
    )
    assert not missing, f"{page.name} names lab sections that no lab has: {missing}"


@pytest.mark.parametrize("lab", sorted(LABS.glob("*.py")), ids=lambda p: p.name)
def test_every_section_a_lab_names_exists(lab):
    headings = all_lab_headings()
    body = "\n".join(
        line.removeprefix("# ") for line in lab.read_text(encoding="utf-8").splitlines()
    )
    missing = sorted({name for name in section_references(body) if name not in headings})
    assert not missing, f"{lab.name} names sections that no lab has: {missing}"


def test_readme_sections_that_pages_name_exist():
    readme_headings = {
        line.lstrip("#").strip() for line in text("README.md").splitlines() if line.startswith("#")
    }
    sources = [*PAGES, *LABS.glob("*.py")]
    pattern = re.compile(r"README's \*([^*]+)\*")
    missing = {
        (source.name, name)
        for source in sources
        for name in pattern.findall(re.sub(r"\s+", " ", source.read_text(encoding="utf-8")))
        if name not in readme_headings
    }
    assert not missing, f"README sections that do not exist: {sorted(missing)}"


GLUE_USE = re.compile(r"\{glue(?::[a-z]+)?\}`([\w-]+)(?::[^`]*)?`")
GLUE_DEFINITION = re.compile(r"""glue\(\s*f?["']([\w{}-]+)["']""")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_glued_key_a_page_uses_is_glued_there(page):
    body = page.read_text(encoding="utf-8")
    defined = GLUE_DEFINITION.findall(body)
    exact = {key for key in defined if "{" not in key}
    patterns = [
        re.compile(re.sub(r"\\\{[^}]*\\\}", r"[\\w-]+", re.escape(key)) + "$")
        for key in defined
        if "{" in key
    ]
    used = set(GLUE_USE.findall(body))
    missing = sorted(
        key for key in used if key not in exact and not any(p.match(key) for p in patterns)
    )
    assert not missing, f"{page.name} uses glue keys it never glues: {missing}"


def test_the_no_deps_packages_are_all_named():
    names = [
        line.split("==")[0].strip()
        for line in text("requirements-nodeps.txt").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    chapter = flat("chapters/06_tools_and_resources.md")
    start = chapter.index("`requirements-nodeps.txt` holds")
    paragraph = chapter[start : start + 600]
    assert all(f"`{name}`" in paragraph for name in names), (names, paragraph)


#: (page, statement): found false in issue 12 or its review; must not come back
RETRACTED = [
    ("chapters/datasets.md", "(100 words)"),
    ("chapters/pretrained_models.md", "such as 96 pixels"),
    ("chapters/pretrained_models.md", "chosen there to help 8-bit quantisation"),
    ("chapters/04_best_practices.md", "12.8 million"),
    ("chapters/04_best_practices.md", "and `Adam(lr=...)` for 10 epochs"),
    ("chapters/05_applications.md", "12,810 weights and biases); parameter"),
    ("chapters/01_background.md", "as rounded in the paper"),
    ("chapters/01_background.md", "a generous figure for one accelerator"),
    ("chapters/03_algorithms_and_workflow.md", "costs about as much as the forward pass"),
    ("chapters/03_algorithms_and_workflow.md", "Every lab has the same sections"),
    ("chapters/06_tools_and_resources.md", "holds a package installed without"),
    ("chapters/06_tools_and_resources.md", "beside ImageNet as data sets"),
    ("chapters/08_faq.md", "are gone from Keras; use"),
    ("intro.md", "estimates how many"),
    ("labs/image_classification_torch.py", "so the two models are identical"),
    ("labs/text_classification_tf.py", "one GRU run of the PyTorch twin"),
]


@pytest.mark.parametrize(("page", "statement"), RETRACTED)
def test_retracted_statements_stay_retracted(page, statement):
    assert statement not in flat(page), f"{page} says again: {statement!r}"


def test_the_mcmahan_entry_has_his_initial():
    assert "McMahan, H. Brendan and Moore" in text("bibliography/practice.bib")
