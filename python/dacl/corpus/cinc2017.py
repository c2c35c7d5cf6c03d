"""The PhysioNet/CinC Challenge 2017 labels: the class vocabulary and ``REFERENCE.csv``.

``REFERENCE.csv`` holds ``record,label`` rows. It must agree with the record
list: labels for absent records, records without a label, unknown label letters
and duplicated rows are one :class:`ValueError` naming them all.
``partial_labels=True`` is the explicit opt-out for the first two (absent
records' labels are ignored, unlabelled records get ``label=None``); unknown
letters and duplicates always fail (:mod:`dacl.corpus.labels.table`).
"""

from __future__ import annotations

from collections.abc import Sequence

from dacl.corpus.labels.table import check, read_rows

#: PhysioNet 2017 classes (normal, AF, other rhythm, noisy), in the order used for integer labels everywhere.
CLASSES: tuple[str, ...] = ("N", "A", "O", "~")


def parse_reference(text: str, names: Sequence[str], partial_labels: bool = False) -> dict[str, str]:
    """Parse ``REFERENCE.csv`` (``record,label`` rows) and check it against the record list.

    Raises one :class:`ValueError` listing every disagreement (see the module
    docstring); with ``partial_labels=True`` labels for absent records are
    dropped and records without a label are allowed.
    """
    rows = read_rows(text, "REFERENCE.csv", lambda field: (field.strip(),), lambda label: label in CLASSES)
    labels = check(rows, names, partial_labels, "REFERENCE.csv", "record,label", f"one of {'/'.join(CLASSES)}")
    return {name: label for name, (label,) in labels.items()}
