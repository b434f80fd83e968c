"""``python -m utils.data fetch [--allow-download]``: see :mod:`utils.data.cli`."""

from utils.data.cli import main

raise SystemExit(main())
