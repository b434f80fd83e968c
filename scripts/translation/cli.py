"""The command line (``scripts/i18n.py``): the subcommands, their options, what each
prints and its exit status."""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from .build import build
from .catalogues import COMPILED, LANGUAGE, LOCALES, REPO_ROOT, catalogue_folder, short
from .check import check
from .compile import compile_catalogues
from .extract import extract
from .stats import Stats, stats
from .update import fill_twins, update

#: what ``--help`` says first (the first line of ``scripts/i18n.py``'s usage text)
DESCRIPTION = "The course's translations: message catalogues in, a translated site out."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/i18n.py", description=DESCRIPTION)
    parser.add_argument("--language", default=LANGUAGE, help=f"default: {LANGUAGE}")
    parser.add_argument(
        "--locales", type=Path, default=LOCALES, help="the catalogues' root (default: locales/)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("extract", help="write the .pot templates to _build/gettext")
    for command, text in (
        ("update", "merge the templates into the catalogues"),
        ("fill-twins", "copy translations to identical untranslated messages"),
    ):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("--dry-run", action="store_true", help="report, write nothing")
    sub = commands.add_parser("check", help="every problem, per file and message; exit 1 if any")
    where = sub.add_mutually_exclusive_group()
    where.add_argument(
        "--templates", type=Path, help="compare with these templates instead of extracting"
    )
    where.add_argument(
        "--no-extract", action="store_true", help="check the catalogues alone (no comparison)"
    )
    commands.add_parser("compile", help="write the .mo catalogues into _build/locales")
    commands.add_parser("stats", help="how far each catalogue is")
    sub = commands.add_parser("build", help="compile, then build the translated site")
    sub.add_argument("-W", dest="warnings_are_errors", action="store_true")
    sub.add_argument("-n", dest="nitpicky", action="store_true")
    sub.add_argument("--keep-going", action="store_true")
    sub.add_argument(
        "--nothing-translated",
        action="store_true",
        help="measurement: the same pages with no catalogue and English search",
    )
    args = parser.parse_args(argv)
    language = args.language
    folder = catalogue_folder(args.locales, language)

    if args.command == "extract":
        return extract()
    if args.command == "update":
        report = update(folder=folder, language=language, dry_run=args.dry_run)
        verb = "would be" if args.dry_run else "were"
        print(
            f"update: {len(report.changed)} catalogue(s) {verb} changed, "
            f"{len(report.created)} created; {report.new_messages} new message(s) to "
            f"translate, {report.fuzzy_messages} fuzzy (English changed), "
            f"{report.reused} filled from identical English elsewhere"
        )
        for domain in report.created:
            print(f"  new catalogue: {domain}.po")
        for domain in report.obsolete:
            print(f"  obsolete: {domain}.po has no page any more (delete it, or move it)")
        return 0
    if args.command == "fill-twins":
        filled = fill_twins(folder, language=language, dry_run=args.dry_run)
        for domain, msgid, _msgstr, choices in filled:
            note = f" (one of {choices} translations)" if choices > 1 else ""
            print(f"  {domain}.po: {short(msgid, 70)!r}{note}")
        print(f"fill-twins: {len(filled)} message(s) {'to fill' if args.dry_run else 'filled'}")
        return 0
    if args.command == "check":
        if args.no_extract:
            problems = check(folder, language=language)
        elif args.templates:
            problems = check(folder, templates=args.templates, language=language)
        else:
            with tempfile.TemporaryDirectory(prefix="course-i18n-check-") as tmp:
                if extract(Path(tmp)) != 0:
                    return 1
                problems = check(folder, templates=Path(tmp), language=language)
        for problem in problems:
            print(problem)
        kinds = Counter(problem.kind.split(":")[0] for problem in problems)
        summary = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        print(f"check: {len(problems)} problem(s)" + (f": {summary}" if summary else ""))
        return 1 if problems else 0
    if args.command == "compile":
        written = compile_catalogues(folder, language=language)
        print(f"compile: {len(written)} .mo file(s) written to {COMPILED.relative_to(REPO_ROOT)}")
        return 0
    if args.command == "stats":
        table = stats(folder, language=language)
        width = max((len(domain) for domain in table), default=10)
        print(f"{'catalogue':<{width}}  messages  translated  fuzzy  untranslated")
        for domain, row in table.items():
            print(
                f"{domain:<{width}}  {row.total:8}  {row.translated:10}  {row.fuzzy:5}  "
                f"{row.untranslated:12}"
            )
        total = Stats(
            sum(r.total for r in table.values()),
            sum(r.translated for r in table.values()),
            sum(r.fuzzy for r in table.values()),
        )
        share = 100 * total.translated / total.total if total.total else 0.0
        print(
            f"{'all':<{width}}  {total.total:8}  {total.translated:10}  {total.fuzzy:5}  "
            f"{total.untranslated:12}   ({share:.1f}% translated)"
        )
        return 0
    if args.command == "build":
        flags = (args.warnings_are_errors, args.nitpicky, args.keep_going)
        return build(language, *flags, nothing_translated=args.nothing_translated)
    return 2  # pragma: no cover - argparse rejects unknown commands
