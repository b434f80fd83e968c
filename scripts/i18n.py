"""The course's translations: message catalogues in, a translated site out.

The English sources are the only sources. Sphinx's gettext builder extracts their text
into one template per page; each translation keeps one catalogue per page under
``locales/<language>/LC_MESSAGES/`` (``chapters/01_background.po``), and the translated
site is built from the same sources with ``language`` set, into a subfolder of the
English site. The workflow, for a translator or after any change to English text::

    python scripts/i18n.py extract      # templates (.pot) of the current sources -> _build/gettext
    python scripts/i18n.py update       # merge them into locales/zh_CN/LC_MESSAGES/*.po
    python scripts/i18n.py fill-twins   # reuse translations of paragraphs the twin labs share
    (translate: fill msgstr, clear the fuzzy flags you have checked)
    python scripts/i18n.py check        # every message translated, and nothing broken
    python scripts/i18n.py build        # compile, then build the Chinese site (after the English)

``make book`` (``scripts/book.py``) builds the Chinese site beside the English one, at the
same time. ``stats`` prints how far each catalogue is; ``compile`` writes the binary ``.mo``
catalogues into ``_build/locales/`` (never into ``locales/``; nothing compiled is
committed).

Only the standard library and Babel (a dependency of Sphinx) are needed for
``update``, ``fill-twins``, ``check``, ``compile`` and ``stats``; ``extract`` and
``build`` run Sphinx through Jupyter Book's configuration (``_config.yml``), in this
process, without writing a ``conf.py``.

This file is the command. The work is done by the package ``scripts/translation/``, one
job per module (``catalogues``, ``extract``, ``update``, ``syntax``, ``glossary``,
``problem``, ``check``, ``compile``, ``stats``, ``build``, ``cli``: the package's
docstring says what each does); the package's public names are also this module's
(``i18n.check``, ``i18n.update``, ...).
"""

import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
if str(SCRIPTS) not in sys.path:  # loaded from elsewhere (the tests): find the package
    sys.path.insert(0, str(SCRIPTS))

from translation import *  # noqa: E402, F403 (its public names, as i18n.<name>)
from translation import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
