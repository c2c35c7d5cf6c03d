"""The data shipped inside the package: a small real sample of PhysioNet/CinC 2017.

See ``data/README.md`` next to this file for its contents, provenance and licence.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE_NAME = "physionet2017-sample.zip"


def sample_path() -> Path:
    """Path of the shipped sample zip (PhysioNet ``training2017.zip`` layout, 40 records).

    The package is installed as plain files (wheel or editable), so the
    resource is a real file that :func:`dacl.corpus.open_corpus` can open.
    """
    path = Path(str(files("dacl.corpus") / "data" / SAMPLE_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"the shipped sample {SAMPLE_NAME} is missing from {path.parent}")
    return path
