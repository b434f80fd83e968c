"""The translation workflow (scripts/i18n.py, _ext/course_i18n/) on small made-up
catalogues, and the catalogues of the course against its current English sources."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po

from _ext import course_i18n
from tests.booktools import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "i18n.py"


def load_script():
    spec = importlib.util.spec_from_file_location("course_i18n_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


i18n = load_script()


def write_catalogue(path: Path, entries, template: bool = False) -> Path:
    """A .po (or .pot) file from ``(msgid, msgstr)`` or ``(msgid, msgstr, "fuzzy")``."""
    catalogue = Catalog(locale=None if template else "zh_CN", fuzzy=False)
    for entry in entries:
        msgid, msgstr = entry[0], "" if template else entry[1]
        flags = ("fuzzy",) if len(entry) > 2 and entry[2] == "fuzzy" else ()
        catalogue.add(msgid, msgstr, flags=flags)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=76)
    return path


def read(path: Path) -> dict[str, tuple[str, bool]]:
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    return {m.id: (m.string, m.fuzzy) for m in catalogue if m.id}


# --------------------------------------------------------------------------- check: syntax


@pytest.mark.parametrize(
    "msgid, msgstr",
    [
        ("See {term}`attention`.", "见{term}`注意力 <attention>`。"),
        ("See {term}`Attention <attention>`.", "见{term}`注意力 <ATTENTION>`。"),
        ("Read {doc}`/labs/setup_check`.", "阅读{doc}`安装检查 </labs/setup_check>`。"),
        ("As {cite:t}`a2020,b2021` show.", "正如 {cite:t}`b2021, a2020` 所示。"),
        ("It took {glue:text}`wall:.1f` s.", "用时 {glue:text}`wall:.1f` 秒。"),
        ("See {numref}`Figure %s <fig-a>`.", "见{numref}`图 %s <fig-a>`。"),
        ("Call `model.fit` with $\\eta = 0.1$.", "以 $\\eta = 0.1$ 调用 `model.fit`。"),
        (
            "See https://example.com/a and [docs](https://x.org).",
            "见 https://example.com/a 和[文档](https://x.org)。",
        ),
        ("A note[^n1] here.", "这里有注释[^n1]。"),
        ("**Bold.** Text.", "**粗体。** 正文。"),
        ("**Bold** text.", "引用“**粗体**”的文字。"),
    ],
)
def test_a_faithful_translation_passes(msgid, msgstr):
    assert i18n.syntax_problems(msgid, msgstr) == []


@pytest.mark.parametrize(
    "msgid, msgstr, kind",
    [
        ("See {term}`attention`.", "见{term}`注意力`。", "roles"),
        ("See {term}`attention`.", "见注意力。", "roles"),
        ("Read {doc}`/labs/setup_check`.", "阅读{doc}`/labs/setup_check_tf`。", "roles"),
        ("As {cite:t}`a2020` shows.", "正如 {cite:p}`a2020` 所示。", "roles"),
        ("As {cite:t}`a2020` shows.", "正如 {cite:t}`a2021` 所示。", "roles"),
        ("It took {glue:text}`wall:.1f` s.", "用时 {glue:text}`wall:.2f` 秒。", "roles"),
        ("See {ref}`sec-a`.", "见{ref}`第一节 <sec-b>`。", "roles"),
        ("Call `model.fit` now.", "现在调用 model.fit。", "code"),
        ("Call `model.fit` now.", "现在调用 `模型.fit`。", "code"),
        ("With $\\eta = 0.1$.", "取 $\\eta = 0.2$。", "math"),
        ("See https://example.com/a now.", "见 https://example.com/b。", "links"),
        ("A note[^n1] here.", "这里有注释。", "footnotes"),
        ("**Bold.** Text.", "粗体。正文。", "bold"),
        ("**Bold** text.", "引用**“粗体”**的文字。", "bold"),
    ],
)
def test_a_broken_translation_is_reported(msgid, msgstr, kind):
    problems = i18n.syntax_problems(msgid, msgstr)
    assert any(problem.startswith(kind) for problem in problems), problems


def test_unpaired_bold_follows_commonmark():
    assert i18n.unpaired_bold("**bold** text") == []
    assert i18n.unpaired_bold("中文**粗体**中文") == []
    # after a CJK character and before an opening quote the run can neither open nor close
    assert i18n.unpaired_bold("中文**“引文”**中文")
    assert i18n.unpaired_bold("中文 **“引文”** 中文") == []
    assert i18n.unpaired_bold("a ** b") == [2]


# --------------------------------------------------------------------------- check: catalogues


@pytest.fixture
def catalogues(tmp_path: Path) -> Path:
    folder = tmp_path / "locales" / "zh_CN" / "LC_MESSAGES"
    write_catalogue(
        folder / "chapters" / "one.po",
        [
            ("Done.", "完成。"),
            ("Not yet.", ""),
            ("Old guess.", "旧的猜测。", "fuzzy"),
            ("Use `x`.", "使用 x。"),
        ],
    )
    return folder


def test_check_reports_every_problem_per_file_and_message(catalogues, tmp_path):
    problems = i18n.check(catalogues, sources=tmp_path)
    found = {(p.file, p.kind.split(":")[0], p.msgid) for p in problems}
    file = "locales/zh_CN/LC_MESSAGES/chapters/one.po"
    assert found == {
        (file, "untranslated", "Not yet."),
        (file, "fuzzy", "Old guess."),
        (file, "syntax", "Use `x`."),
    }


def test_check_against_templates_finds_stale_and_missing_messages(catalogues, tmp_path):
    templates = tmp_path / "gettext"
    write_catalogue(
        templates / "chapters" / "one.pot",
        [("Done.",), ("Not yet.",), ("Old guess.",), ("Use `x`.",), ("A new sentence.",)],
        template=True,
    )
    write_catalogue(templates / "labs" / "two.pot", [("Lab.",)], template=True)
    write_catalogue(catalogues / "chapters" / "gone.po", [("Gone.", "没了。")])
    write_catalogue(catalogues / "chapters" / "one.po", [("Done.", "完成。"), ("Dropped.", "删")])
    problems = i18n.check(catalogues, templates=templates, sources=tmp_path)
    kinds = {(p.kind.split(":")[0], p.msgid) for p in problems}
    assert ("missing", "A new sentence.") in kinds
    assert ("missing", "Not yet.") in kinds
    assert ("stale", "Dropped.") in kinds
    assert ("no catalogue for this page", "labs/two") in kinds
    assert ("catalogue of a page that no longer exists", "chapters/gone") in kinds
    assert ("missing", "Done.") not in kinds


def test_the_command_exits_1_on_a_problem_and_names_it(catalogues, capsys):
    locales = catalogues.parent.parent
    assert i18n.main(["--locales", str(locales), "check", "--no-extract"]) == 1
    out = capsys.readouterr().out
    assert "chapters/one.po: untranslated: 'Not yet.'" in out
    write_catalogue(catalogues / "chapters" / "one.po", [("Done.", "完成。")])
    assert i18n.main(["--locales", str(locales), "check", "--no-extract"]) == 0
    assert "check: 0 problem(s)" in capsys.readouterr().out


def test_glossary_headwords_stay_english_and_definitions_start_with_the_rendering(tmp_path):
    source = tmp_path / "chapters" / "glossary.md"
    source.parent.mkdir(parents=True)
    source.write_text(
        "# Glossary\n\n```{glossary}\n:sorted:\n\nattention\n  A layer that mixes\n"
        "  positions.\n\n  More.\n\nepoch\n  One pass.\n```\n",
        encoding="utf-8",
    )
    folder = tmp_path / "locales" / "zh_CN" / "LC_MESSAGES"
    (folder.parent / "terminology.tsv").parent.mkdir(parents=True, exist_ok=True)
    (folder.parent / "terminology.tsv").write_text(
        "english\tchinese\tnote\nattention\t注意力\nepoch\t轮次\n", encoding="utf-8"
    )
    write_catalogue(
        folder / "chapters" / "glossary.po",
        [
            ("Glossary", "术语表"),
            ("attention", "注意力"),  # a translated headword breaks every {term}
            ("A layer that mixes positions.", "**注意力**：一种混合各位置的层。"),
            ("More.", "更多。"),
            ("epoch", "epoch"),
            ("One pass.", "完整遍历一次。"),  # lacks **轮次**
        ],
    )
    problems = i18n.check(folder, sources=tmp_path)
    assert {(p.kind, p.msgid) for p in problems} == {
        ("glossary headword translated", "attention"),
        ("glossary definition", "One pass."),
    }


# --------------------------------------------------------------------------- update


@pytest.fixture
def project(tmp_path: Path):
    templates, folder = tmp_path / "gettext", tmp_path / "locales" / "zh_CN" / "LC_MESSAGES"
    write_catalogue(
        folder / "chapters" / "one.po",
        [
            ("Kept.", "保留。"),
            ("The model has ten layers and two heads.", "模型有十层和两个头。"),
            ("Removed.", "删除。"),
            ("Moved to another page.", "移到另一页。"),
        ],
    )
    write_catalogue(folder / "chapters" / "gone.po", [("Gone.", "没了。")])
    write_catalogue(
        templates / "chapters" / "one.pot",
        [("Kept.",), ("The model has ten layers and four heads.",), ("Brand new.",)],
        template=True,
    )
    write_catalogue(
        templates / "labs" / "new.pot", [("Moved to another page.",), ("Lab.",)], template=True
    )
    return templates, folder


def test_update_keeps_translations_and_marks_what_changed(project):
    templates, folder = project
    report = i18n.update(templates, folder)
    one = read(folder / "chapters" / "one.po")
    assert one["Kept."] == ("保留。", False)
    assert one["The model has ten layers and four heads."] == ("模型有十层和两个头。", True)
    assert one["Brand new."] == ("", False)
    assert "Removed." not in one
    new = read(folder / "labs" / "new.po")
    assert new["Moved to another page."] == ("移到另一页。", False)  # reused, exact English
    assert new["Lab."] == ("", False)
    assert report.created == ["labs/new"]
    assert report.changed == ["chapters/one"]
    assert report.obsolete == ["chapters/gone"]
    assert (folder / "chapters" / "gone.po").is_file()  # reported, not deleted
    assert (report.new_messages, report.fuzzy_messages) == (2, 1)


def test_update_never_blanks_a_translation_and_writes_only_what_changed(project):
    templates, folder = project
    i18n.update(templates, folder)
    first = {p: p.read_bytes() for p in folder.rglob("*.po")}
    report = i18n.update(templates, folder)
    assert report.changed == [] and report.created == []
    assert {p: p.read_bytes() for p in folder.rglob("*.po")} == first


@pytest.mark.parametrize("width", [0, 76])
def test_update_keeps_the_layout_and_leaves_a_merely_reordered_catalogue_alone(tmp_path, width):
    long = "A sentence long enough to be wrapped by Babel's default width of seventy-six."
    folder, templates = tmp_path / "LC_MESSAGES", tmp_path / "gettext"
    po = folder / "page.po"
    write_catalogue(po, [("Second.", "第二。"), (long, "一个足够长的句子。")])
    po.write_bytes(i18n.serialise(i18n.read_catalogue(po), width=width))
    before = po.read_bytes()
    write_catalogue(templates / "page.pot", [(long,), ("Second.",)], template=True)
    assert i18n.update(templates, folder).changed == []
    assert po.read_bytes() == before
    write_catalogue(templates / "page.pot", [(long,), ("Second.",), ("Third.",)], template=True)
    assert i18n.update(templates, folder).changed == ["page"]
    one_line = f'msgid "{long}"' in po.read_text(encoding="utf-8")
    assert one_line == (width == 0)


def test_update_dry_run_writes_nothing(project):
    templates, folder = project
    before = {p: p.read_bytes() for p in folder.rglob("*.po")}
    report = i18n.update(templates, folder, dry_run=True)
    assert report.created == ["labs/new"]
    assert {p: p.read_bytes() for p in folder.rglob("*.po")} == before


def test_fill_twins_copies_only_into_empty_messages(tmp_path):
    folder = tmp_path / "LC_MESSAGES"
    write_catalogue(folder / "labs" / "a_tf.po", [("Shared.", "共享。"), ("Own.", "自己的。")])
    write_catalogue(
        folder / "labs" / "a_torch.po",
        [("Shared.", ""), ("Own.", "另一个。"), ("Other.", "", "fuzzy")],
    )
    filled = i18n.fill_twins(folder)
    assert [(domain, msgid) for domain, msgid, *_ in filled] == [("labs/a_torch", "Shared.")]
    torch = read(folder / "labs" / "a_torch.po")
    assert torch["Shared."] == ("共享。", False)
    assert torch["Own."] == ("另一个。", False)  # an existing translation is never replaced


# --------------------------------------------------------------------------- compile


def test_compile_leaves_out_fuzzy_messages_and_rewrites_only_changes(tmp_path):
    folder, output = tmp_path / "LC_MESSAGES", tmp_path / "build"
    po = write_catalogue(folder / "chapters" / "one.po", [("A.", "甲。"), ("B.", "乙。", "fuzzy")])
    assert i18n.compile_catalogues(folder, output) == ["chapters/one"]
    mo = output / "zh_CN" / "LC_MESSAGES" / "chapters" / "one.mo"
    with mo.open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == {"A.": "甲。"}
    assert (mo.with_suffix(".po")).read_bytes() == po.read_bytes()
    assert i18n.compile_catalogues(folder, output) == []  # unchanged: no page re-read
    po.unlink()
    i18n.compile_catalogues(folder, output)
    assert not mo.exists()


# --------------------------------------------------------------------------- the switch


@pytest.mark.parametrize(
    "pagename, translation, expected",
    [
        ("intro", None, {"zh_CN": "zh_CN/intro.html"}),
        ("chapters/01_background", None, {"zh_CN": "../zh_CN/chapters/01_background.html"}),
        ("intro", "zh_CN", {"en": "../intro.html"}),
        ("chapters/01_background", "zh_CN", {"en": "../../chapters/01_background.html"}),
    ],
)
def test_the_language_switch_links_to_the_same_page(pagename, translation, expected):
    links = course_i18n.language_links(
        pagename, f"{pagename}.html", translation, {"zh_CN": {"label": "中文"}}
    )
    assert {link["code"]: link["href"] for link in links} == expected
    assert all(link["lang"] in ("en", "zh-CN") for link in links)


def test_the_chinese_edition_is_configured():
    import yaml

    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    settings = config["sphinx"]["config"]["course_translations"]["zh_CN"]
    assert settings["title"] == "AI 大模型：学习与进阶"
    assert settings["search_language"] == "zh"
    assert "jieba" in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the real catalogues


@pytest.mark.slow
def test_every_english_message_has_a_current_translation():
    """Extract the current English (no notebook executes) and compare: every message must
    have a non-empty, non-fuzzy translation in its page's catalogue, and no translation may
    break a role, code, math, a link or bold. A change to the English without a new
    translation fails here, naming the file and the message."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = [line for line in proc.stdout.splitlines() if line.startswith(("locales/", "check:"))]
    assert proc.returncode == 0, (
        "the Chinese catalogues are behind the English (run `make translations`, translate, "
        "then `make translations-check`):\n"
        + "\n".join(report[:80])
        + (f"\n... and {len(report) - 80} more" if len(report) > 80 else "")
        + ("" if report else proc.stdout[-3000:] + proc.stderr[-3000:])
    )


# --------------------------------------------------------------------------- translation outputs


def notebook(*sources: str, outputs: bool = False):
    import nbformat

    cells = [nbformat.v4.new_markdown_cell("# Title")]
    for source in sources:
        cell = nbformat.v4.new_code_cell(source)
        if outputs:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=source)]
        cells.append(cell)
    return nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )


def test_a_translation_takes_the_outputs_of_the_same_code_only():
    fresh, executed = notebook("a = 1", "print(a)"), notebook("a = 1", "print(a)", outputs=True)
    assert course_i18n.reuse_outputs(fresh, executed, "page") is None
    assert [cell.outputs[0].text for cell in fresh.cells[1:]] == ["a = 1", "print(a)"]
    changed = notebook("a = 2", "print(a)")
    problem = course_i18n.reuse_outputs(changed, executed, "page")
    assert "code cell 1" in problem and "English" in problem
    assert all(not cell.outputs for cell in changed.cells[1:])


def test_a_translation_reads_the_cache_and_never_creates_or_fills_it(tmp_path):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache_path = tmp_path / "cache"
    assert course_i18n.cached_outputs(notebook("a = 1"), cache_path) is None
    assert not cache_path.exists()
    source = tmp_path / "page.md"
    source.write_text("page", encoding="utf-8")
    get_cache(str(cache_path)).cache_notebook_bundle(
        CacheBundleIn(notebook("a = 1", outputs=True), str(source)), check_validity=False
    )
    merged = course_i18n.cached_outputs(notebook("a = 1"), cache_path)
    assert merged.cells[1].outputs[0].text == "a = 1"
    assert course_i18n.cached_outputs(notebook("a = 2"), cache_path) is None
    assert len(get_cache(str(cache_path)).list_cache_records()) == 1


def test_extraction_gives_captioned_figures_a_placeholder_and_executes_nothing():
    from types import SimpleNamespace

    nb = notebook("plot()", "other()")
    nb.metadata["mystnb"] = {"execution_mode": "force"}
    nb.cells[1].metadata["mystnb"] = {"figure": {"caption": "A caption"}}
    config = SimpleNamespace(metadata_key="mystnb", cell_metadata_key="mystnb")
    course_i18n.placeholder_outputs(nb, config)
    assert "execution_mode" not in nb.metadata["mystnb"]
    assert "image/png" in nb.cells[1].outputs[0].data
    assert nb.cells[2].outputs == []


def test_translated_nodes_forget_their_throwaway_documents():
    from docutils import nodes
    from docutils.utils import new_document

    page, message = new_document("page"), new_document("message")
    paragraph = nodes.paragraph("", "")
    paragraph.document = message
    text = nodes.Text("译文")
    paragraph += text
    page += paragraph
    assert course_i18n.forget_message_documents(page) == 1
    assert paragraph.document is page and text.document is page


# --------------------------------------------------------------------------- build cost


def test_the_chinese_search_stems_every_word_as_sphinx_does():
    from sphinx.search.zh import SearchChinese

    text = "GPU 训练 the models running; LLMs and ABS were tested 3.5 times, was is"
    ours, sphinx = course_i18n.ChineseSearch({}), SearchChinese({})
    sphinx.latin_terms = []  # the base class shares one list among all instances
    words = ours.split(text)
    assert words == sphinx.split(text)
    for word in [*words, "Running", "was", "LLMs"] * 2:  # twice: the second from the cache
        assert ours.stem(word) == sphinx.stem(word), word


def test_output_signatures_ignore_cell_ids_and_timings_only():
    import copy

    def executed(text: str) -> dict:
        cell = {
            "cell_type": "code",
            "id": "a1",
            "source": "print(1)",
            "metadata": {"execution": {"iopub.execute_input": "2026-12-03T07:00:00"}},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
        }
        return {"cells": [cell], "metadata": {"mystnb": {"execution_mode": "force"}}}

    first, again = executed("1\n"), executed("1\n")
    again["cells"][0]["id"] = "b2"
    again["cells"][0]["metadata"]["execution"]["iopub.execute_input"] = "2026-12-04T07:00:00"
    signature = course_i18n.output_signature(first)
    assert course_i18n.output_signature(again) == signature
    assert course_i18n.output_signature(executed("2\n")) != signature
    assert course_i18n.output_signature(first, b'{"key": 1}') != signature
    other_code = copy.deepcopy(first)
    other_code["cells"][0]["source"] = "print(2)"
    assert course_i18n.output_signature(other_code) != signature


def test_a_forced_page_is_read_again_only_when_its_outputs_change(tmp_path):
    import json
    import os

    executed, stamps = tmp_path / "jupyter_execute", tmp_path / "stamps"
    (executed / "chapters").mkdir(parents=True)
    forced = {
        "cells": [{"cell_type": "code", "id": "x", "source": "1", "outputs": [], "metadata": {}}],
        "metadata": {"mystnb": {"execution_mode": "force"}},
    }
    cached = {"cells": [], "metadata": {}}
    page = executed / "chapters" / "report.ipynb"
    page.write_text(json.dumps(forced), encoding="utf-8")
    (executed / "chapters" / "cached.ipynb").write_text(json.dumps(cached), encoding="utf-8")
    assert course_i18n.update_output_stamps(executed, stamps) == ["chapters/report"]
    stamp = stamps / "chapters" / "report.sha256"
    assert [p.name for p in stamps.rglob("*.sha256")] == ["report.sha256"]
    os.utime(stamp, ns=(1, 1))  # as if the translation read the page after the stamp
    forced["cells"][0]["id"] = "y"  # the English build executed it again: same outputs
    page.write_text(json.dumps(forced), encoding="utf-8")
    assert course_i18n.update_output_stamps(executed, stamps) == []
    assert stamp.stat().st_mtime_ns == 1  # untouched: the page is not read again
    forced["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    page.write_text(json.dumps(forced), encoding="utf-8")
    assert course_i18n.update_output_stamps(executed, stamps) == ["chapters/report"]
    assert stamp.stat().st_mtime_ns > 1


def test_a_translation_reads_the_always_reread_pages_only_when_needed():
    from sphinx.config import Config

    config = Config(
        {
            "language": "zh_CN",
            "course_translations": {"zh_CN": {"title": "标题", "search_language": "zh"}},
            "course_always_reread": ["chapters/report"],
        }
    )
    for name, default in (
        ("course_translations", {}),
        ("course_always_reread", []),
        ("nb_mime_priority_overrides", ()),
        ("html_theme_options", {}),
        ("html_title", ""),
        ("html_search_language", None),
    ):
        config.add(name, default, "env", ())
    config.init_values()
    course_i18n.configure(None, config)
    assert config.course_always_reread == []
    assert config.html_title == "标题" and config.html_search_language == "zh"
    config.language = "en"
    config.course_always_reread = ["chapters/report"]
    course_i18n.configure(None, config)
    assert config.course_always_reread == ["chapters/report"]


def test_translated_messages_share_one_parser_and_parse_as_before():
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser as RstParser
    from docutils.utils import new_document
    from myst_parser.config.main import MdParserConfig
    from myst_parser.mdit_to_docutils import base
    from myst_parser.mdit_to_docutils.base import DocutilsRenderer
    from myst_parser.parsers.mdit import create_md_parser

    state = course_i18n.install_message_parsing()
    config = MdParserConfig(enable_extensions={"dollarmath", "deflist"})
    messages = ["一个 **粗体** 与 `代码`，$x^2$。", "[链接](https://example.org) 和 *强调*"]

    def render(parser, text: str, source: str) -> str:
        document = new_document(source, get_default_settings(RstParser))
        parser.options["document"] = document
        parser.render(text)
        return document.pformat()

    fresh = [
        render(create_md_parser(config, DocutilsRenderer), m, "p:1:<translated>") for m in messages
    ]
    parsers = []
    for _ in range(2):
        for message, expected in zip(messages, fresh, strict=True):
            state.offered = True  # as MystParser.parse does for a translated message
            parser = state.parser_for(create_md_parser, config, DocutilsRenderer)
            parsers.append(parser)
            assert render(parser, message, "p:1:<translated>") == expected
    assert all(parser is parsers[0] for parser in parsers)
    assert state.parser_for(create_md_parser, config, DocutilsRenderer) is not parsers[0]
    other = MdParserConfig()
    state.offered = True
    assert state.parser_for(create_md_parser, other, DocutilsRenderer) is not parsers[0]

    # a render given a translated message's document builds no throwaway default one
    made = []
    original = base.make_document
    base.make_document = lambda *args, **kwargs: made.append(args) or original(*args, **kwargs)
    try:
        render(parsers[0], messages[0], "p:1:<translated>")
        assert made == []
        render(parsers[0], messages[0], "page.md")
        assert len(made) == 1  # a page's own parse is untouched
    finally:
        base.make_document = original


def test_pybtex_plugins_are_looked_up_once():
    from pybtex import plugin

    assert course_i18n.install_plugin_lookup_cache()
    uncached = plugin.entry_points.uncached
    style = plugin.find_plugin("pybtex.style.formatting", "plain")
    assert style is plugin.find_plugin("pybtex.style.formatting", "plain")
    assert style is next(iter(uncached(group="pybtex.style.formatting", name="plain"))).load()
    assert "plain" in plugin.enumerate_plugin_names("pybtex.style.formatting")


def test_the_translation_build_imports_jupyter_book_without_the_iri_grammars():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('i18n_script', {str(SCRIPT)!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules[spec.name] = module\n"
        "spec.loader.exec_module(module)\n"
        "assert callable(module.import_build_sphinx())\n"
        "assert 'jsonschema' in sys.modules and 'rfc3987_syntax' not in sys.modules\n"
        "import jsonschema.validators\n"
        "if importlib.util.find_spec('rfc3987_syntax'):  # installed: importable again\n"
        "    import rfc3987_syntax\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_forced_page_depends_on_its_stamp_or_else_on_the_missing_notebook(tmp_path):
    import json
    from types import SimpleNamespace

    import nbformat

    from _ext.course_i18n import outputs

    executed, stamps = tmp_path / "jupyter_execute", tmp_path / "stamps"
    (tmp_path / "reports").mkdir()
    source = tmp_path / "reports" / "page.md"
    source.write_text("page", encoding="utf-8")
    dependencies = []
    app = SimpleNamespace(
        srcdir=str(tmp_path), env=SimpleNamespace(note_dependency=dependencies.append)
    )
    nb_config = SimpleNamespace(metadata_key="mystnb", execution_cache_path="cache")
    hook = outputs.outputs_from_source_build(app, executed, stamps)

    def forced():
        nb = notebook("a = 1")
        nb.metadata["mystnb"] = {"execution_mode": "force"}
        return nb

    hook(forced(), str(source), nb_config)  # no English build yet: warned, read next time
    assert dependencies == [str(executed / "reports" / "page.ipynb")]
    (executed / "reports").mkdir(parents=True)
    done = forced()
    done.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1")]
    (executed / "reports" / "page.ipynb").write_text(json.dumps(done), encoding="utf-8")
    assert course_i18n.update_output_stamps(executed, stamps) == ["reports/page"]
    dependencies.clear()
    shown = hook(forced(), str(source), nb_config)
    assert dependencies == [str(stamps / "reports" / "page.sha256")]
    assert shown.cells[1].outputs[0].text == "1"


MINI_CONF = """
import json, os, sys
sys.path.insert(0, {repo!r})
extensions = ["myst_nb"]
language = "zh_CN"
locale_dirs = ["locales"]
gettext_compact = False
nb_execution_mode = "off"
nb_custom_formats = {{".py": ["jupytext.reads", {{"fmt": "py:percent"}}]}}
exclude_patterns = ["_build", "locales", "conf.py"]
if os.environ.get("COURSE_MESSAGE_PARSING") == "1":
    from _ext import course_i18n
    state = course_i18n.install_message_parsing()

    def setup(app):
        def report(app, exception):
            stats = {{"parsed": state.once.parsed, "reused": state.once.reused}}
            (app.outdir / "parsing.json").write_text(json.dumps(stats))
        app.connect("build-finished", report)
"""

MINI_PAGE = """# Attention

Attention lets each **position** look at [every other one](https://example.org).

## The weights

- A weight per pair of positions.
- The weights sum to *one*.

See {ref}`the weights <weights-label>`.

(weights-label)=
## Why it works

Scores become weights through a softmax.
"""

MINI_LAB = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A lab
#
# The lab trains a **small** model.

# %%
print(1)

# %% [markdown]
# ## Results
#
# The loss went down.
"""

MINI_TRANSLATIONS = {
    "index": [
        ("Attention", "注意力"),
        (
            "Attention lets each **position** look at [every other one](https://example.org).",
            "注意力让每个**位置**都能看到[其他所有位置](https://example.org)。",
        ),
        ("The weights", "权重"),
        ("A weight per pair of positions.", "每对位置一个权重。"),
        ("The weights sum to *one*.", "权重之和为*一*。"),
        ("See {ref}`the weights <weights-label>`.", "见{ref}`权重 <weights-label>`。"),
        ("Why it works", "为什么有效"),
        ("Scores become weights through a softmax.", "分数经 softmax 变为权重。"),
    ],
    "lab": [
        ("A lab", "一个实验"),
        ("The lab trains a **small** model.", "本实验训练一个**小**模型。"),
        ("Results", "结果"),
        ("The loss went down.", "损失下降了。"),
    ],
}


def test_translated_pages_parse_each_message_once_and_come_out_the_same(tmp_path):
    """Items 5 and 6 of ``course_i18n.messages`` (a message parsed once, not twice; no
    notebook reader per message) leave every translated doctree as Sphinx made it."""
    import pickle

    from babel.messages.mofile import write_mo

    project = tmp_path / "project"
    (project / "locales" / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    (project / "conf.py").write_text(MINI_CONF.format(repo=str(REPO_ROOT)), encoding="utf-8")
    (project / "index.md").write_text(MINI_PAGE + "\n```{toctree}\nlab\n```\n", encoding="utf-8")
    (project / "lab.py").write_text(MINI_LAB, encoding="utf-8")
    for page, pairs in MINI_TRANSLATIONS.items():
        catalogue = Catalog(locale="zh_CN")
        for msgid, msgstr in pairs:
            catalogue.add(msgid, msgstr)
        with (project / "locales" / "zh_CN" / "LC_MESSAGES" / f"{page}.mo").open("wb") as mo:
            write_mo(mo, catalogue)

    def build(parsing: str) -> tuple[dict[str, str], Path]:
        out = tmp_path / f"build-{parsing}"
        env = dict(__import__("os").environ, COURSE_MESSAGE_PARSING=parsing)
        command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "-E"]
        command += ["-d", str(out / "doctrees"), str(project), str(out / "html")]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        trees = {}
        for page in MINI_TRANSLATIONS:
            with (out / "doctrees" / f"{page}.doctree").open("rb") as handle:
                trees[page] = pickle.load(handle).pformat()
        return trees, out

    as_sphinx, _ = build("0")
    with_savings, out = build("1")
    assert "注意力" in as_sphinx["index"] and "损失下降了" in as_sphinx["lab"]
    for page in MINI_TRANSLATIONS:
        assert with_savings[page] == as_sphinx[page], f"{page} differs with the savings"
    stats = __import__("json").loads((out / "html" / "parsing.json").read_text())
    # 12 messages, each parsed once (Sphinx alone parses 19): the first pass translates
    # the 5 section titles, and the second takes the first pass's copy for the other 7
    assert stats == {"parsed": 12, "reused": 7}, stats


# --------------------------------------------------------------------------- side by side


@pytest.fixture
def beside_english(tmp_path, monkeypatch):
    """A translation build's state beside the English build: the marker to wait for."""
    from _ext.course_i18n import concurrent

    marker = tmp_path / "english-read"
    monkeypatch.setenv(concurrent.WAIT_FOR, str(marker))
    monkeypatch.setattr(concurrent._Wait, "done", False)
    monkeypatch.setattr(concurrent._Wait, "idle", [])
    return marker


def later(seconds: float, action) -> None:
    import threading

    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


def test_a_translation_beside_english_waits_for_the_marker_once(beside_english):
    from _ext.course_i18n import concurrent

    later(0.3, lambda: beside_english.write_text("1"))
    assert concurrent.waiting()
    assert concurrent.wait_for_english_read("a test", poll=0.01) >= 0.25
    assert concurrent.wait_for_english_read("again") == 0.0  # said once, for the whole build


def test_the_english_build_signals_when_it_has_read_every_page(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from _ext.course_i18n import concurrent

    marker = tmp_path / "read" / "english-read"
    monkeypatch.setenv(concurrent.READ_MARKER, str(marker))
    translation = SimpleNamespace(
        config=SimpleNamespace(language="zh_CN", course_translations={"zh_CN": {}})
    )
    concurrent.signal_read_done(translation, None)
    assert not marker.exists()  # a translation has nothing to signal
    english = SimpleNamespace(config=SimpleNamespace(language="en", course_translations={}))
    concurrent.signal_read_done(english, None)
    assert marker.is_file()


def test_the_wait_does_work_meanwhile_and_ends_when_the_english_build_is_done(
    beside_english,
):
    import time

    from _ext.course_i18n import concurrent

    done = []

    def work():
        for step in range(1000):
            time.sleep(0.01)
            done.append(step)
            yield

    concurrent.while_waiting(work)
    later(0.2, lambda: beside_english.write_text("1"))
    start = time.perf_counter()
    concurrent.wait_for_english_read("a test", poll=0.01)
    assert 5 < len(done) < 100 and time.perf_counter() - start < 1.5


def test_the_search_index_splits_the_texts_that_were_segmented_ahead():
    from types import SimpleNamespace

    from docutils import nodes
    from sphinx.search import IndexBuilder
    from sphinx.search import zh as chinese_search

    from _ext.course_i18n import search

    section = nodes.section("", ids=["a"])
    section += nodes.title("", "注意力机制")
    section += nodes.paragraph(
        "", "", nodes.Text("每个位置都加权平均其他位置，"), nodes.emphasis("", "softmax")
    )
    section += nodes.comment("", "不进索引")
    section += nodes.raw("", "<b>原样</b>", format="html")
    document = nodes.document(None, None)
    document += section
    visited = []
    lang = SimpleNamespace(split=lambda text: visited.append(text) or [], lang="zh")
    IndexBuilder._word_collector(SimpleNamespace(lang=lang), document)
    ahead = search.texts_of(document)
    assert [text for text in visited if text != "原样"] == ahead  # raw HTML is split on the spot
    for text in ahead:
        assert search.segment(text) == list(chinese_search.jieba.cut_for_search(text))
    search.SEGMENTED["一段已经切好的文字"] = ["切好"]
    try:
        chinese = search.ChineseSearch({})
        assert chinese.split("一段已经切好的文字") == ["切好"]  # taken as segmented ahead
    finally:
        del search.SEGMENTED["一段已经切好的文字"]


def test_a_build_on_its_own_never_waits(monkeypatch):
    from _ext.course_i18n import concurrent

    monkeypatch.delenv(concurrent.WAIT_FOR, raising=False)
    monkeypatch.setattr(concurrent._Wait, "done", False)
    assert not concurrent.waiting()
    assert concurrent.wait_for_english_read("nothing to wait for") == 0.0


def test_a_page_missing_from_the_cache_waits_for_the_english_build(beside_english, tmp_path):
    """Beside the English build, a page with no cache record is taken from what the
    English build executed, once it has read every page (not before: it may be running)."""
    from types import SimpleNamespace

    import nbformat

    from _ext.course_i18n import outputs

    executed = tmp_path / "jupyter_execute"
    (tmp_path / "labs").mkdir()
    source = tmp_path / "labs" / "lab.py"
    source.write_text("lab", encoding="utf-8")
    app = SimpleNamespace(srcdir=str(tmp_path), env=SimpleNamespace(note_dependency=list().append))
    nb_config = SimpleNamespace(metadata_key="mystnb", execution_cache_path="cache")
    hook = outputs.outputs_from_source_build(app, executed, None)

    def english_build_finishes():
        (executed / "labs").mkdir(parents=True)
        nbformat.write(notebook("a = 1", outputs=True), executed / "labs" / "lab.ipynb")
        beside_english.write_text("1")

    later(0.3, english_build_finishes)
    taken = hook(notebook("a = 1"), str(source), nb_config)
    assert beside_english.is_file()
    assert taken.cells[1].outputs[0].text == "a = 1"


def test_the_book_stops_the_translation_when_the_english_build_fails(tmp_path, capsys):
    import os
    import time

    book = load_book_script()
    started = tmp_path / "translation-pid"
    english = python(
        f"import pathlib, sys, time\nwhile not pathlib.Path({str(started)!r}).is_file(): "
        "time.sleep(0.01)\nprint('English: broken'); sys.exit(3)",
    )
    translation = python(
        f"import os, pathlib, time; pathlib.Path({str(started)!r}).write_text(str(os.getpid()));"
        " time.sleep(60)",
    )
    start = time.perf_counter()
    status = book.run_side_by_side(
        english, translation, tmp_path / "en.log", tmp_path / "zh.log", tmp_path / "marker"
    )
    assert status == 1 and time.perf_counter() - start < 30
    with pytest.raises(ProcessLookupError):  # stopped, and waited for
        os.kill(int(started.read_text()), 0)
    assert "English: broken" in (tmp_path / "en.log").read_text()
    assert "The English build failed (exit 3)" in capsys.readouterr().out


def test_the_book_builds_the_translation_beside_english_and_shows_both_logs(tmp_path, capsys):
    book = load_book_script()
    marker = tmp_path / "marker"
    # the "English build" makes the marker as the real one does; the "translation" sees
    # the variable naming it, and waits for it
    english = python(
        "import os, pathlib, time; time.sleep(0.5); print('English done');"
        f" pathlib.Path(os.environ[{book.READ_MARKER!r}]).write_text('1')",
    )
    translation = python(
        "import os, pathlib, time\n"
        f"marker = pathlib.Path(os.environ[{book.WAIT_FOR!r}])\n"
        "while not marker.is_file(): time.sleep(0.01)\n"
        "print('translation done after the English read')",
    )
    status = book.run_side_by_side(
        english, translation, tmp_path / "en.log", tmp_path / "zh.log", marker
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.index("English done") < out.index("translation done after the English read")
    assert not marker.exists()  # removed when the book is built


def test_the_book_says_how_to_run_it_where_jupyter_book_is_missing(monkeypatch, capsys):
    book = load_book_script()
    monkeypatch.setattr(book.shutil, "which", lambda *args, **kwargs: None)
    assert book.main([]) == 2
    error = capsys.readouterr().err
    assert "jupyter-book is not installed" in error and "make setup" in error


def test_the_book_and_the_extension_name_the_same_variables():
    from _ext.course_i18n import concurrent

    book = load_book_script()
    assert (book.READ_MARKER, book.WAIT_FOR) == (concurrent.READ_MARKER, concurrent.WAIT_FOR)


def python(code: str) -> list[str]:
    """The command that runs ``code`` in this Python."""
    return [sys.executable, "-c", code]


def load_book_script():
    spec = importlib.util.spec_from_file_location("course_book_script", BOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BOOK = REPO_ROOT / "scripts" / "book.py"
