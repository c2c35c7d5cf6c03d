"""PTB-XL's SCP-ECG statements: a record's ``scp_codes`` and their aggregation levels.

PTB-XL (Wagner et al. 2020) labels each record with SCP-ECG statements and a
likelihood in percent, stored in ``ptbxl_database.csv`` as a Python-dict text
(``{'NORM': 100.0, 'SR': 0.0}``). ``scp_statements.csv`` says, for each
statement, whether it is diagnostic, a form or a rhythm statement, and for
diagnostic ones their subclass and superclass. The aggregation levels are
those of the PTB-XL benchmark (Strodthoff et al. 2021, "Deep learning for ECG
analysis: benchmarks and insights from PTB-XL"):

* ``all``: every statement;
* ``diagnostic``: the diagnostic statements themselves;
* ``subdiagnostic`` / ``superdiagnostic``: each diagnostic statement replaced
  by its ``diagnostic_subclass`` / ``diagnostic_class`` (NORM, MI, STTC, CD, HYP);
* ``form`` / ``rhythm``: the form / rhythm statements.

A statement enters a record's labels when its likelihood is at least the
threshold (default 0: every listed statement, as the benchmark does; rhythm
statements are listed with likelihood 0). A level's vocabulary is its labels
sorted, the benchmark's column order.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

from dacl.io.documents import excerpt

#: The aggregation levels of :func:`aggregate`.
SCP_LEVELS = ("all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm")

_ITEM = r"'([A-Za-z0-9_/+-]{1,32})'\s*:\s*([+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"
_ITEMS = re.compile(_ITEM)
_DICT = re.compile(rf"\{{\s*(?:{_ITEM}\s*(?:,\s*{_ITEM}\s*)*,?\s*)?\}}")
#: Longest ``scp_codes`` cell read (the real ones hold at most a dozen statements).
_MAX_CELL_CHARS = 4096
_STATEMENT_COLUMNS = ("diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass")


@dataclass(frozen=True)
class Statement:
    """What ``scp_statements.csv`` says about one SCP code."""

    code: str
    diagnostic: bool
    form: bool
    rhythm: bool
    diagnostic_class: str
    diagnostic_subclass: str


def check_level(level: str, threshold: float) -> None:
    """A ``ValueError`` for an unknown level or a likelihood threshold outside 0..100."""
    if level not in SCP_LEVELS:
        raise ValueError(f"scp_level must be one of {', '.join(SCP_LEVELS)}, got '{excerpt(str(level))}'")
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and 0 <= threshold <= 100):
        raise ValueError(f"scp_threshold must be a likelihood in percent, 0 to 100, got {threshold!r}")


def parse_scp_codes(text: str) -> dict[str, float]:
    """The ``{code: likelihood}`` of a ``scp_codes`` cell; ``ValueError`` if it is not such a dict."""
    if len(text) > _MAX_CELL_CHARS or not _DICT.fullmatch(text.strip()):
        raise ValueError(f"scp_codes '{excerpt(text)}' is not a {{'CODE': likelihood, ...}} dict")
    return {code: float(value) for code, value in _ITEMS.findall(text)}


def _flag(value: str) -> bool:
    try:
        return float(value) == 1.0 if value.strip() else False
    except ValueError:
        raise ValueError(f"flag '{excerpt(value, 12)}' is not 1, 0 or empty") from None


def parse_statements(text: str, file: str = "scp_statements.csv") -> dict[str, Statement]:
    """The statements of ``scp_statements.csv`` (first column: the code), by code."""
    try:
        reader = csv.DictReader(io.StringIO(text))
        fields = reader.fieldnames or []
        missing = [c for c in _STATEMENT_COLUMNS if c not in fields]
        if not fields or missing:
            raise ValueError(f"{file} lacks the column(s) {', '.join(missing or _STATEMENT_COLUMNS)}")
        statements = {}
        for lineno, row in enumerate(reader, start=2):
            code = (row.get(fields[0]) or "").strip()
            try:
                statements[code] = Statement(
                    code,
                    _flag(row["diagnostic"] or ""),
                    _flag(row["form"] or ""),
                    _flag(row["rhythm"] or ""),
                    (row["diagnostic_class"] or "").strip(),
                    (row["diagnostic_subclass"] or "").strip(),
                )
            except ValueError as err:
                raise ValueError(f"{file} line {lineno} ({excerpt(code, 12)}): {err}") from None
    except csv.Error as err:
        raise ValueError(f"{file} is not a CSV table ({excerpt(str(err), 80)})") from None
    if not statements:
        raise ValueError(f"{file} lists no statements")
    return statements


def _level_labels(statement: Statement, level: str) -> tuple[str, ...]:
    """What one statement contributes at ``level``."""
    if level == "all":
        return (statement.code,)
    if level in ("form", "rhythm"):
        return (statement.code,) if getattr(statement, level) else ()
    if not statement.diagnostic:
        return ()
    value = {
        "diagnostic": statement.code,
        "subdiagnostic": statement.diagnostic_subclass,
        "superdiagnostic": statement.diagnostic_class,
    }[level]
    return (value,) if value else ()


def vocabulary(statements: dict[str, Statement], level: str) -> tuple[str, ...]:
    """The labels ``level`` can give, sorted."""
    return tuple(sorted({label for s in statements.values() for label in _level_labels(s, level)}))


def aggregate(
    codes: dict[str, float], statements: dict[str, Statement], level: str, threshold: float
) -> tuple[str, ...]:
    """A record's labels at ``level`` from its ``{code: likelihood}``, sorted; ``ValueError`` for a code
    that ``scp_statements.csv`` does not list."""
    unknown = [c for c in codes if c not in statements]
    if unknown:
        raise ValueError(f"SCP code '{excerpt(unknown[0], 32)}' is not in scp_statements.csv")
    kept = [statements[c] for c, likelihood in codes.items() if likelihood >= threshold]
    return tuple(sorted({label for s in kept for label in _level_labels(s, level)}))
