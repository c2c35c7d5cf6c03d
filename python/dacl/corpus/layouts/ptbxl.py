"""PTB-XL: 12-lead 10 s records, SCP-ECG statements and folds in ``ptbxl_database.csv``.

The published layout: ``ptbxl_database.csv`` and ``scp_statements.csv`` at the
root, the records at 500 Hz under ``records500/`` and at 100 Hz under
``records100/`` (``filename_hr`` / ``filename_lr`` columns). Record names are
those file names, in the table's order; ``ptbxl_records`` picks the rate
(``"auto"``: 500 Hz when the first listed 500 Hz header is there, else 100 Hz).
Labels are SCP codes aggregated by ``scp_level`` with likelihood at least
``scp_threshold`` (:mod:`dacl.corpus.labels.scp`). ``meta`` holds ``ecg_id``,
``patient`` (``patient_id``), ``fold`` (``strat_fold``: 1-8 train, 9 validation,
10 test in the benchmark), ``age`` (PTB-XL writes 300 for ages above 89) and
``sex`` (PTB-XL's 0 is male, 1 female).

The table must agree with itself and with ``scp_statements.csv``: a malformed
row, an unknown SCP code or a record listed twice is a ``ValueError`` naming the
line; a listed record whose files are missing is a bad record when read, and a
table none of whose records is here is a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dacl.corpus.labels import scp
from dacl.corpus.layouts.base import (
    LabelOptions,
    Layout,
    Listing,
    check_unique,
    first_present,
    integer_text,
    names_digest,
    no_records,
    read_table,
    table_name,
)
from dacl.corpus.sources import Source, read_list
from dacl.corpus.wfdb import Header
from dacl.io.documents import excerpt

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
_COLUMNS = ("ecg_id", "patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr")
#: ``ptbxl_records`` values -> the table column naming those records.
RATES = {"500": "filename_hr", "100": "filename_lr"}
_SEX = {"0": "male", "1": "female"}


class Ptbxl(Layout):
    kind = "ptbxl"

    def __init__(
        self,
        source: Source,
        reason: str,
        fingerprint: dict[str, str],
        options: LabelOptions,
        listing: Listing | None = None,
    ) -> None:
        scp.check_level(options.scp_level, options.scp_threshold)
        if not source.exists(DATABASE):
            raise ValueError(f"{source.description}: no {DATABASE} here; not a PTB-XL corpus")
        if not source.exists(STATEMENTS):
            raise ValueError(f"{source.description}: {DATABASE} is here but {STATEMENTS} is not; PTB-XL needs both")
        text, fingerprint["statements_sha256"] = read_list(source, STATEMENTS)
        statements = scp.parse_statements(text, STATEMENTS)
        rows, fingerprint["database_sha256"] = read_table(source, DATABASE, _COLUMNS)
        table = [_parse_row(source, lineno, row, statements, options) for lineno, row in rows]
        column = _column(source, table, options.ptbxl_records)
        names = [getattr(row, column) for row in table]
        check_unique(source, DATABASE, names)
        fingerprint["names_sha256"] = names_digest(names)
        super().__init__(source, names, f"{reason}; {column} records", fingerprint, "multi-label")
        self.rows = dict(zip(names, table, strict=True))
        self._vocabulary = scp.vocabulary(statements, options.scp_level)

    def vocabulary(self) -> tuple[str, ...] | None:
        return self._vocabulary

    def labels(self, name: str, header: Header | None) -> tuple[str, ...] | None:
        return self.rows[name].labels

    def meta(self, name: str, header: Header) -> dict[str, Any]:
        return self.rows[name].meta()


@dataclass(frozen=True)
class _Row:
    """One row of ``ptbxl_database.csv``: the two record names, the labels, and the metadata."""

    filename_hr: str
    filename_lr: str
    labels: tuple[str, ...]
    ecg_id: int
    fold: int
    patient: str | None
    age: int | None
    sex: str | None

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"ecg_id": self.ecg_id, "fold": self.fold, "database": "ptbxl"}
        for key in ("patient", "age", "sex"):
            if getattr(self, key) is not None:
                meta[key] = getattr(self, key)
        return meta


def _parse_row(
    source: Source, lineno: int, row: dict[str, str], statements: dict[str, scp.Statement], options: LabelOptions
) -> _Row:
    where = f"{source.description}: {DATABASE} line {lineno}"
    try:
        labels = scp.aggregate(
            scp.parse_scp_codes(row["scp_codes"]), statements, options.scp_level, options.scp_threshold
        )
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    ecg_id, fold = integer_text(row["ecg_id"]), integer_text(row["strat_fold"])
    if ecg_id is None or fold is None:
        bad = "ecg_id" if ecg_id is None else "strat_fold"
        raise ValueError(f"{where}: {bad} '{excerpt(row[bad])}' is not an integer")
    age = integer_text(row.get("age", ""))
    return _Row(
        filename_hr=table_name(source, DATABASE, lineno, "filename_hr", row["filename_hr"]),
        filename_lr=table_name(source, DATABASE, lineno, "filename_lr", row["filename_lr"]),
        labels=labels,
        ecg_id=int(ecg_id),
        fold=int(fold),
        patient=integer_text(row["patient_id"]) or row["patient_id"] or None,
        age=None if age is None else int(age),
        sex=_SEX.get(integer_text(row.get("sex", "")) or ""),
    )


def _column(source: Source, table: list[_Row], choice: str) -> str:
    """The table column whose records are read (see the module docstring)."""
    if choice not in ("auto", *RATES):
        raise ValueError(f"ptbxl_records must be auto, 500 or 100, got '{excerpt(str(choice))}'")
    if choice != "auto":
        column = RATES[choice]
        if first_present(source, _names(table, column)) is None:
            raise no_records(source, DATABASE, [getattr(r, column) for r in table], f"({column})")
        return column
    for column in RATES.values():
        if table and first_present(source, [getattr(table[0], column)]):
            return column
    for column in RATES.values():
        if first_present(source, _names(table, column)):
            return column
    raise no_records(source, DATABASE, [r.filename_hr for r in table], "(filename_hr or filename_lr)")


def _names(table: list[_Row], column: str) -> Iterator[str]:
    return (getattr(row, column) for row in table)
