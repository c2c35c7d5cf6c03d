"""The PhysioNet/CinC Challenge 2017 labels: the class vocabulary and ``REFERENCE.csv``.

``REFERENCE.csv`` holds ``record,label`` rows. It must agree with the record
list: labels for absent records, records without a label, unknown label letters
and duplicated rows are one :class:`ValueError` naming them all.
``partial_labels=True`` is the explicit opt-out for the first two (absent
records' labels are ignored, unlabelled records get ``label=None``); unknown
letters and duplicates always fail.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from dacl.io.documents import excerpt, listing

#: PhysioNet 2017 classes (normal, AF, other rhythm, noisy), in the order used for integer labels everywhere.
CLASSES: tuple[str, ...] = ("N", "A", "O", "~")


@dataclass
class _Rows:
    """What the rows of a REFERENCE.csv say, and what is wrong with them on their own."""

    labels: dict[str, str] = field(default_factory=dict)
    bad_lines: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _read_rows(text: str) -> _Rows:
    rows = _Rows()
    try:
        for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                rows.bad_lines.append(f"line {lineno} has {len(row)} fields")
                continue
            rec, label = row[0].strip(), row[1].strip()
            if rec in rows.labels:
                rows.duplicated.append(rec)
            if label not in CLASSES:
                rows.unknown.append(f"{excerpt(rec)}='{excerpt(label, 10)}'")
            rows.labels[rec] = label
    except csv.Error as err:
        raise ValueError(f"REFERENCE.csv is not a CSV of record,label rows ({excerpt(str(err), 80)})") from None
    return rows


def _problems(rows: _Rows, names: Sequence[str], partial_labels: bool) -> list[str]:
    problems: list[str] = []
    if rows.bad_lines:
        problems.append(f"expected 'record,label' rows: {listing(rows.bad_lines, 3)}")
    if rows.duplicated:
        problems.append(f"duplicated rows for {listing(sorted({excerpt(d) for d in rows.duplicated}))}")
    if rows.unknown:
        problems.append(f"unknown labels (expected one of {'/'.join(CLASSES)}): {listing(rows.unknown)}")
    if not partial_labels:
        present = set(names)
        extra = sorted(excerpt(r) for r in rows.labels if r not in present)
        missing = [n for n in names if n not in rows.labels]
        if extra:
            problems.append(f"labels for {len(extra)} records not in the corpus: {listing(extra)}")
        if missing:
            problems.append(f"{len(missing)} records without a label: {listing(missing)}")
    return problems


def parse_reference(text: str, names: Sequence[str], partial_labels: bool = False) -> dict[str, str]:
    """Parse ``REFERENCE.csv`` (``record,label`` rows) and check it against the record list.

    Raises one :class:`ValueError` listing every disagreement (see the module
    docstring); with ``partial_labels=True`` labels for absent records are
    dropped and records without a label are allowed.
    """
    rows = _read_rows(text)
    problems = _problems(rows, names, partial_labels)
    if problems:
        hint = "" if partial_labels else " (partial_labels=True / --partial-labels accepts missing or extra rows)"
        raise ValueError("REFERENCE.csv disagrees with the records: " + "; ".join(problems) + hint)
    return {n: rows.labels[n] for n in names if n in rows.labels}
