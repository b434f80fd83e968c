"""``extract``: the English sources' messages, one ``.pot`` template per page."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from .catalogues import CONFIG, REPO_ROOT, TEMPLATES, domains


def extract(output: Path = TEMPLATES, quiet: bool = True) -> int:
    """Write one ``.pot`` template per page of the book into ``output``; return the status.

    Sphinx's gettext builder runs over the sources with ``_config.yml`` (the settings
    ``gettext_compact: false``, ``gettext_uuid: false``, ``gettext_location: false`` are
    there), in a temporary folder, with nothing executed: ``_ext/course_i18n/`` turns
    execution off and gives captioned figures a placeholder output so that their
    captions and alt texts are extracted. Only the templates are kept.
    """
    from jupyter_book.sphinx import build_sphinx

    with tempfile.TemporaryDirectory(prefix="course-i18n-extract-") as tmp:
        scratch = Path(tmp)
        status = build_sphinx(
            REPO_ROOT,
            scratch / "gettext",
            noconfig=True,
            path_config=str(CONFIG),
            confoverrides={
                "latex_individualpages": False,
                "nb_execution_mode": "off",
                # the book's cache is neither read nor written (nor checked for staleness)
                "nb_execution_cache_path": str(scratch / "cache"),
            },
            doctreedir=scratch / "doctrees",
            builder="gettext",
            freshenv=True,
            quiet=quiet,
        )
        if status != 0:
            print(f"extract: Sphinx failed ({status})", file=sys.stderr)
            return 1
        if output.exists():
            shutil.rmtree(output)
        for domain, template in domains(scratch / "gettext", ".pot").items():
            if domain == "sphinx":  # theme strings, not the course's text
                continue
            target = output / f"{domain}.pot"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, target)
    count = len(domains(output, ".pot"))
    where = output.relative_to(REPO_ROOT) if output.is_relative_to(REPO_ROOT) else output
    print(f"extract: {count} templates in {where}")
    return 0
