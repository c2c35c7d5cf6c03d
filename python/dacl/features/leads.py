"""Which leads a dataset keeps (``--leads``), and a record's rows for them.

``--leads all`` keeps the leads of the corpus's first record whose header can be
read (its names, in its order); ``--leads I,II,V1`` keeps those, in that order.
Leads are matched by name, case-insensitively (``avr`` is ``aVR``), never by
position. A record that lacks a requested lead is not used: it is recorded with
``status=error`` and the reason ``missing leads: V3`` (we skip rather than fill
with zeros and a mask, so no model ever sees an invented lead).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from dacl.corpus.records import Record, RecordError

#: The twelve standard leads as the corpus names them; a requested name matching one case-insensitively
#: is written this way in the manifest.
STANDARD_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


class HeaderReader(Protocol):
    """What lead resolution needs of a corpus."""

    names: list[str]

    def info(self, name: str) -> object: ...


def parse_leads(text: str) -> tuple[str, ...] | None:
    """``"all"`` -> ``None`` (the first record's leads); ``"I,II,V1"`` -> ``("I", "II", "V1")``."""
    if text.strip().lower() == "all":
        return None
    names = tuple(canonical(t) for t in text.split(",") if t.strip())
    if not names:
        raise ValueError(f"--leads expects 'all' or lead names separated by commas, got {text!r}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"--leads names {', '.join(repeated)} more than once")
    return names


def canonical(name: str) -> str:
    """A lead name as the manifest writes it: the standard spelling of a standard lead, else as given."""
    stripped = name.strip()
    return next((s for s in STANDARD_LEADS if s.casefold() == stripped.casefold()), stripped)


def resolve_leads(requested: Sequence[str] | None, corpus: HeaderReader, probe: int = 50) -> tuple[str, ...]:
    """The dataset's leads: ``requested``, or (``None``) the leads of the first record whose header reads.

    Only the first ``probe`` headers are tried; a corpus whose first records are all unreadable is an error.
    """
    if requested is not None:
        return tuple(requested)
    for name in corpus.names[:probe]:
        try:
            leads = tuple(corpus.info(name).leads)  # type: ignore[attr-defined]
        except RecordError:
            continue
        if leads:
            return leads
    raise ValueError(
        f"--leads all: none of the first {min(probe, len(corpus.names))} records has a readable "
        "header to take the leads from; name the leads with --leads I,II,..."
    )


def lead_rows(name: str, available: Sequence[str], leads: Sequence[str]) -> list[int]:
    """The rows of a record's signal that hold ``leads``, in that order; :class:`RecordError` when some are absent."""
    index: dict[str, int] = {}
    for row, lead in enumerate(available):
        index.setdefault(lead.casefold(), row)  # a lead written twice: the first one
    missing = [lead for lead in leads if lead.casefold() not in index]
    if missing:
        raise RecordError(name, f"missing leads: {', '.join(missing)}")
    return [index[lead.casefold()] for lead in leads]


def select_leads(record: Record, leads: Sequence[str]) -> Record:
    """``record`` with only ``leads`` (in that order, named as the dataset names them), checked for
    invalid samples: a NaN/inf sample in a kept lead makes the record unusable (:class:`RecordError`)."""
    rows = lead_rows(record.name, record.leads, leads)
    signal = record.signal if rows == list(range(len(record.leads))) else record.signal[rows]
    check_finite(record.name, signal, leads, record.start)
    return Record(record.name, signal, tuple(leads), record.fs, record.labels, record.sha256, record.meta, record.start)


def check_finite(name: str, signal: np.ndarray, leads: Sequence[str], start: int = 0) -> None:
    """Refuse invalid samples (WFDB "no data", read as NaN) or infinities in the kept leads."""
    bad = ~np.isfinite(signal)
    if not bad.any():
        return
    per_lead = bad.sum(axis=1)
    lead = int(np.flatnonzero(per_lead)[0])
    first = int(np.flatnonzero(bad[lead])[0])
    kind = "NaN (missing samples)" if np.isnan(signal[lead, first]) else "inf"
    counts = ", ".join(f"{leads[i]}: {int(n)}" for i, n in enumerate(per_lead) if n)
    raise RecordError(
        name,
        f"signal contains {int(bad.sum())} non-finite values ({kind}, first in lead "
        f"{leads[lead]} at sample {start + first}; per lead {counts})",
    )
