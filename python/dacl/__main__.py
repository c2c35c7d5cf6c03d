"""``python -m dacl ...``: the ``dacl`` command where its console script is not on PATH
(e.g. the package installed with ``pip install --target`` on a GPU machine)."""

from dacl.cli import main

raise SystemExit(main())
