"""What every layout shares: the :class:`Layout` interface, the label options, record lists and tables.

A layout knows where a corpus lists its records, where their labels and
metadata live, and what its leads are called; the corpus
(:class:`dacl.corpus.Corpus`) reads the signals the same way for all of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from dacl.corpus.records import RecordError
from dacl.corpus.sources import MAX_DEPTH, MAX_TABLE_BYTES, Source, name_problem, read_list
from dacl.corpus.wfdb import Header, read_header
from dacl.io.documents import excerpt, listing

#: Record names and the SHA-256 of the ``RECORDS`` file that listed them (``None``: headers were listed).
Listing = tuple[list[str], str | None]
#: Layout names :func:`dacl.corpus.open_corpus` accepts (besides ``"auto"``).
LAYOUTS = ("cinc2017", "cinc2021", "ptbxl", "mimic-iv-ecg", "wfdb")
#: What a layout's labels are: one class per record, several, or none.
TASKS = ("single-label", "multi-label", "none")


@dataclass(frozen=True)
class LabelOptions:
    """How to label a corpus (see :func:`dacl.corpus.open_corpus`, which checks them against the layout)."""

    partial_labels: bool = False
    labels: Path | None = None
    label_map: str | None = None
    scp_level: str = "all"
    scp_threshold: float = 0.0
    ptbxl_records: str = "auto"


class Layout:
    """A corpus layout: its record names and what it knows about each record.

    Subclasses set :attr:`kind`, and override what their layout knows:
    :meth:`vocabulary`, :meth:`labels` (``labels_in_header`` when they come from the
    header), :meth:`meta` and :meth:`lead_names`.
    """

    kind: ClassVar[str]
    #: Whether :meth:`labels` needs the record's header.
    labels_in_header: ClassVar[bool] = False

    def __init__(
        self, source: Source, names: list[str], reason: str, fingerprint: dict[str, str], task: str = "none"
    ) -> None:
        self.source = source
        self.names = names
        self.reason = reason
        self.fingerprint = fingerprint
        self.task = task

    def vocabulary(self) -> tuple[str, ...] | None:
        """The label codes this corpus can carry, in a fixed order (``None``: unlabelled)."""
        return None

    def labels(self, name: str, header: Header | None) -> tuple[str, ...] | None:
        """The record's labels (``None``: unlabelled); ``header`` is given when :attr:`labels_in_header`."""
        return None

    def meta(self, name: str, header: Header) -> dict[str, Any]:
        """What the layout knows about the record besides its signal and labels (JSON-able)."""
        return {}

    def lead_names(self, name: str, header: Header) -> tuple[str, ...]:
        """The name of each signal of the record, canonical (:func:`dacl.corpus.leads.canonical_lead`)."""
        return header.leads


# ------------------------------------------------------------------ record lists


def record_names(source: Source) -> Listing:
    """The record names (from ``RECORDS``, else every ``.hea`` below the root) and RECORDS' SHA-256.

    A ``RECORDS`` line ending in ``/`` names a folder with its own ``RECORDS`` (PhysioNet's
    convention for nested databases); its records are listed in its place.
    """
    if not source.exists("RECORDS"):
        names = [h[: -len(".hea")] for h in source.files(".hea")]
        for name in names:
            problem = name_problem(name)
            if problem:
                raise ValueError(f"{source.description}: header file of record '{excerpt(name)}': the name {problem}")
        return names, None
    names, digest = _records_file(source, "", 0)
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise ValueError(f"RECORDS lists {len(dups)} records more than once: {listing(dups)}")
    return names, digest


def listed_names(source: Source, fingerprint: dict[str, str], listing: Listing | None = None) -> list[str]:
    """The corpus's record names (``listing`` if auto-detection already read them, else :func:`record_names`),
    refusing an empty corpus; ``fingerprint`` gains RECORDS' SHA-256 when there is one."""
    names, records_sha = listing or record_names(source)
    if not names:
        raise ValueError(f"{source.description}: the corpus lists no records")
    if records_sha:
        fingerprint["records_sha256"] = records_sha
    return names


def _records_file(source: Source, folder: str, depth: int) -> tuple[list[str], str]:
    rel = f"{folder}RECORDS"
    text, digest = read_list(source, rel)
    names: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        problem = name_problem(name.removesuffix("/"))
        if problem:
            raise ValueError(f"{source.description}: {rel} line {lineno}: record name '{excerpt(name)}' {problem}")
        if not name.endswith("/"):
            names.append(folder + name)
        elif depth < MAX_DEPTH and source.exists(f"{folder}{name}RECORDS"):
            names += _records_file(source, folder + name, depth + 1)[0]
    return names, digest


def first_present(source: Source, names: Iterable[str]) -> str | None:
    """The first of ``names`` whose header exists, or ``None``."""
    return next((n for n in names if source.exists(f"{n}.hea")), None)


def first_header(source: Source, names: list[str], tries: int = 10) -> Header | None:
    """The header of the first of ``names`` (among the first ``tries``) that reads, or ``None``."""
    for name in names[:tries]:
        try:
            return read_header(source, name)
        except (RecordError, ValueError, OSError):
            continue
    return None


def names_digest(names: list[str]) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


# ------------------------------------------------------------------ tables


def read_table(
    source: Source, rel: str, required: tuple[str, ...], limit: int = MAX_TABLE_BYTES
) -> tuple[Iterator[tuple[int, dict[str, str]]], str]:
    """The rows of a layout's CSV table (numbered from 2, the first data line) and the file's SHA-256;
    a ``ValueError`` naming the file when it lacks one of the ``required`` columns."""
    text, digest = read_list(source, rel, limit)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{source.description}: {rel} lacks the column(s) {', '.join(missing)}")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for lineno, row in enumerate(reader, start=2):
                yield lineno, {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        except csv.Error as err:
            raise ValueError(f"{source.description}: {rel} is not a CSV table ({excerpt(str(err), 80)})") from None

    return rows(), digest


def table_name(source: Source, rel: str, lineno: int, column: str, value: str) -> str:
    """A record name read from a table cell, checked (see :func:`dacl.corpus.sources.name_problem`)."""
    problem = name_problem(value)
    if problem:
        raise ValueError(f"{source.description}: {rel} line {lineno}: {column} '{excerpt(value)}' {problem}")
    return value


def check_unique(source: Source, rel: str, names: list[str]) -> None:
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise ValueError(f"{source.description}: {rel} lists {len(dups)} records more than once: {listing(dups)}")


def no_records(source: Source, rel: str, names: list[str], where: str) -> ValueError:
    """The error for a layout marker whose records are absent."""
    first = f" (the first: {excerpt(names[0], 80)}.hea)" if names else ""
    return ValueError(
        f"{source.description}: {rel} lists {len(names)} records, but none of their headers {where} is here{first}"
    )


def integer_text(value: str) -> str | None:
    """``"15709"`` for ``"15709"`` or ``"15709.0"`` (how pandas writes ids), else ``None``."""
    try:
        number = float(value)
    except ValueError:
        return None
    return str(int(number)) if number.is_integer() else None
