"""``python -m dacl.cli ...``: the ``dacl`` command (as ``python -m dacl``)."""

from dacl.cli import main

raise SystemExit(main())
