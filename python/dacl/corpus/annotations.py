"""Rhythm annotations of long records (``.atr``): intervals of one rhythm each.

WFDB annotation files mark each beat (``N``, ``V``, ...) and, with a rhythm-change
annotation (symbol ``+``), the start of a rhythm named in its text as ``(AFIB``,
``(N``, ``(VT``, ... (MIT-BIH, CPSC 2021, LTAF and most long-term databases).
:func:`rhythm_intervals` turns the rhythm changes into intervals: each runs from
its change to the next one (or the end of the record), labelled with the rhythm
name without its parenthesis; samples before the first change carry no rhythm.
Beat annotations are not labels.

The files are read with ``wfdb.rdann``: in place for a folder (confined to the
corpus root), from a temporary copy of just the annotation file for a zip, at
most :data:`MAX_ANNOTATION_BYTES`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from dacl.corpus.records import Interval, RecordError
from dacl.corpus.sources import OutsideCorpus, Source, TooLarge, copy_file, size_text
from dacl.io.documents import excerpt

#: Largest annotation file read (a two-week Holter's beat annotations are a few MB).
MAX_ANNOTATION_BYTES = 64 << 20
#: The annotation file of a record: ``NAME.atr``.
EXTENSION = "atr"


def read_rhythms(source: Source, name: str, n_samples: int) -> list[Interval] | None:
    """The rhythm intervals of record ``name`` (``n_samples`` long) from its ``.atr``; ``None`` without one."""
    rel = f"{name}.{EXTENSION}"
    if not source.exists(rel):
        return None
    try:
        if source.size(rel) > MAX_ANNOTATION_BYTES:
            raise TooLarge(rel, MAX_ANNOTATION_BYTES)
        local = source.local_path(rel)
        if local is not None:
            return _rdann(name, str(local)[: -len(EXTENSION) - 1], n_samples)
        with tempfile.TemporaryDirectory(prefix="dacl-atr-") as tmp:
            base = PurePosixPath(name).name
            copy_file(source, rel, Path(tmp, f"{base}.{EXTENSION}"), MAX_ANNOTATION_BYTES)
            return _rdann(name, str(Path(tmp, base)), n_samples)
    except TooLarge:
        raise RecordError(
            name, f"annotation file {PurePosixPath(rel).name} is larger than {size_text(MAX_ANNOTATION_BYTES)}"
        ) from None
    except OutsideCorpus as err:
        raise RecordError(name, str(err)) from None


def _rdann(name: str, path: str, n_samples: int) -> list[Interval]:
    import wfdb

    try:
        ann = wfdb.rdann(path, EXTENSION)
    except Exception as err:  # wfdb raises bare Exceptions, IndexErrors, ...: name the record
        raise RecordError(
            name,
            f"annotation file {PurePosixPath(name).name}.{EXTENSION} is unreadable "
            f"({type(err).__name__}: {excerpt(str(err), 120)})",
        ) from err
    notes = ann.aux_note if ann.aux_note is not None else [""] * len(ann.sample)
    return rhythm_intervals([int(s) for s in ann.sample], list(ann.symbol), list(notes), n_samples)


def rhythm_intervals(
    samples: Sequence[int], symbols: Sequence[str], notes: Sequence[str], n_samples: int
) -> list[Interval]:
    """Intervals between rhythm changes (symbol ``+`` with a ``(NAME`` note), clipped to the record;
    consecutive changes to the same rhythm are one interval."""
    changes: list[tuple[int, str]] = []
    for sample, symbol, note in sorted(zip(samples, symbols, notes, strict=True), key=lambda a: a[0]):
        text = note.strip("\x00 \t")
        if symbol == "+" and text.startswith("(") and text[1:].strip():
            start = min(max(int(sample), 0), n_samples)
            if not changes or changes[-1][1] != text[1:].strip():
                changes.append((start, text[1:].strip()))
    if not changes:
        return []
    bounds = [start for start, _ in changes[1:]] + [n_samples]
    return [Interval(start, end, label) for (start, label), end in zip(changes, bounds, strict=True) if end > start]


def majority_label(intervals: Sequence[Interval], start: int, stop: int) -> str | None:
    """The rhythm covering most of samples ``start:stop``: the label with the largest overlap, if it
    covers more than half of them; otherwise (or when nothing covers them) ``None``."""
    cover: dict[str, int] = {}
    for iv in intervals:
        overlap = min(iv.end, stop) - max(iv.start, start)
        if overlap > 0:
            cover[iv.label] = cover.get(iv.label, 0) + overlap
    if not cover:
        return None
    label, most = max(cover.items(), key=lambda kv: (kv[1], kv[0]))
    return label if 2 * most > stop - start else None
