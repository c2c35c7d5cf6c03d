"""Label tables beside a corpus: ``record,labels`` rows, read and checked against the record list.

CinC 2017's ``REFERENCE.csv`` (``record,label``) and the labels CSV a user gives for a
generic WFDB corpus (``record,labels`` with several labels separated by ``;``) are
the same kind of file. It must agree with the record list: labels for absent
records, records without a row, malformed or duplicated rows are one
:class:`ValueError` naming them all. ``partial_labels=True`` is the explicit
opt-out for the first two (absent records' rows are ignored, records without a
row are unlabelled); malformed and duplicated rows always fail.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dacl.io.documents import excerpt, listing

#: Longest label accepted from a labels file.
MAX_LABEL_CHARS = 64


@dataclass
class LabelRows:
    """What the rows of a label table say, and what is wrong with them on their own."""

    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bad_lines: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def read_rows(
    text: str,
    file: str,
    split: Callable[[str], tuple[str, ...]],
    known: Callable[[str], bool],
    header: tuple[str, ...] = (),
) -> LabelRows:
    """The ``record,labels`` rows of ``text`` (blank lines skipped; a first row equal to ``header`` too).

    ``split`` turns the second field into labels; a label for which ``known`` is false is listed
    in :attr:`LabelRows.unknown`.
    """
    rows = LabelRows()
    try:
        for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not "".join(row).strip() or (lineno == 1 and header and tuple(row) == header):
                continue
            if len(row) != 2:
                rows.bad_lines.append(f"line {lineno} has {len(row)} fields")
                continue
            record, labels = row[0].strip(), split(row[1])
            if record in rows.labels:
                rows.duplicated.append(record)
            rows.unknown += [f"{excerpt(record)}='{excerpt(label, 10)}'" for label in labels if not known(label)]
            rows.labels[record] = labels
    except csv.Error as err:
        raise ValueError(f"{file} is not a CSV of record,label rows ({excerpt(str(err), 80)})") from None
    return rows


def problems(rows: LabelRows, names: Sequence[str], partial_labels: bool, expected: str, known: str) -> list[str]:
    """What is wrong with ``rows`` as the labels of the records ``names`` (empty: nothing)."""
    found: list[str] = []
    if rows.bad_lines:
        found.append(f"expected '{expected}' rows: {listing(rows.bad_lines, 3)}")
    if rows.duplicated:
        found.append(f"duplicated rows for {listing(sorted({excerpt(d) for d in rows.duplicated}))}")
    if rows.unknown:
        found.append(f"unknown labels (expected {known}): {listing(rows.unknown)}")
    if not partial_labels:
        present = set(names)
        extra = sorted(excerpt(r) for r in rows.labels if r not in present)
        missing = [n for n in names if n not in rows.labels]
        if extra:
            found.append(f"labels for {len(extra)} records not in the corpus: {listing(extra)}")
        if missing:
            found.append(f"{len(missing)} records without a label: {listing(missing)}")
    return found


def check(
    rows: LabelRows, names: Sequence[str], partial_labels: bool, file: str, expected: str, known: str
) -> dict[str, tuple[str, ...]]:
    """The labels of the records in ``names`` that have a row, in their order; one ``ValueError``
    listing every disagreement (see the module docstring)."""
    found = problems(rows, names, partial_labels, expected, known)
    if found:
        hint = "" if partial_labels else " (partial_labels=True / --partial-labels accepts missing or extra rows)"
        raise ValueError(f"{file} disagrees with the records: " + "; ".join(found) + hint)
    return {n: rows.labels[n] for n in names if n in rows.labels}


def split_labels(field_text: str) -> tuple[str, ...]:
    """The ``;``-separated labels of a labels-CSV field, stripped, blanks dropped, in their order."""
    return tuple(dict.fromkeys(label.strip() for label in field_text.split(";") if label.strip()))


def plain_label(label: str) -> bool:
    """A label a labels CSV may carry: printable, at most :data:`MAX_LABEL_CHARS` characters."""
    return 0 < len(label) <= MAX_LABEL_CHARS and label.isprintable()


def parse_labels_csv(text: str, names: Sequence[str], partial_labels: bool, file: str) -> dict[str, tuple[str, ...]]:
    """A user's labels CSV (``record,labels``, labels separated by ``;``, an optional ``record,labels``
    header row) checked against the record list."""
    rows = read_rows(text, file, split_labels, plain_label, header=("record", "labels"))
    return check(
        rows, names, partial_labels, file, "record,labels", f"printable labels of at most {MAX_LABEL_CHARS} characters"
    )
