"""Read an ECG corpus, zipped or extracted, in any of the big public layouts.

:func:`open_corpus` accepts a zip, a corpus folder, or a folder with that folder
inside, finds its layout (:mod:`dacl.corpus.layouts`: ``cinc2017``, ``cinc2021``,
``ptbxl``, ``mimic-iv-ecg`` or generic ``wfdb``; ``layout="auto"`` detects it and
says why in :attr:`Corpus.layout_reason`) and gives a :class:`Corpus`: the
record names in a stable order, their labels, and thread-safe record reading.

How records are read: both sources (:mod:`dacl.corpus.sources`) hand the bytes of
the header and the signal files to one WFDB reader (:mod:`dacl.corpus.wfdb`):
numpy for formats 16, 212, 24, 32, 61, 80 and 160, ``wfdb.rdrecord`` for the
rest, so zip and folder give identical records. A read may take a sample range
(``sampfrom``/``sampto``): only its bytes are read, so a record days long never
has to be in memory whole.

What a record holds (:class:`~dacl.corpus.records.Record`)
-----------------------------------------------------------
* ``signal``: the record's ECG leads, ``(n_leads, n_samples)`` float64 in mV
  (mV in any case is kept, µV/uV divided by 1000; an ECG lead in any other unit
  is a :class:`RecordError` naming the lead and unit). Non-ECG channels (ABP,
  PLETH, RESP, ...; see :mod:`dacl.corpus.leads`) are left out and listed in
  ``meta["dropped"]``; ``leads_required`` asks for channels by name instead
  (ECG or not; non-ECG ones in their own units, listed in ``meta["units"]``),
  and a record without one of them is a :class:`RecordError` ``missing leads: V3``.
* ``leads``: canonical names (``I II III aVR aVL aVF V1..V6``, others as written);
  two signals with one name are a :class:`RecordError`.
* WFDB "invalid sample" values in an ECG lead make the record bad (as before),
  unless the caller passes ``keep_invalid=True``: then they are NaN in ``signal``
  and counted per lead in ``meta["invalid"]``.
* ``labels``, ``meta``: what the layout knows (see each layout's module).

Errors
------
* a missing path: :class:`FileNotFoundError`; an unknown layout, a layout marker
  without its records, label options that do not apply to the layout, a label
  table that disagrees with the records: one :class:`ValueError` naming the file;
* a bad record (listed but missing files, corrupt header or signal file, invalid
  samples, units, missing leads, empty or too short): :class:`RecordError` (a
  ``ValueError``) naming the record and the problem. :meth:`Corpus.read_many`
  returns these instead of raising, so a caller can report and skip them;
* a list or table that is not UTF-8 text, too large, or names a record that is
  not a plain relative path: :class:`ValueError` naming the file (and line); a
  corrupt zip member: :class:`zipfile.BadZipFile` naming it.

Untrusted input
---------------
A corpus may come from anyone, so reading it is bounded and confined:

* nothing is inflated or read beyond what it should hold: a signal file at most
  what its header declares (a ``.mat`` exactly its matrix), a header
  :data:`~dacl.corpus.wfdb.MAX_HEADER_BYTES`, ``RECORDS`` and label lists
  :data:`~dacl.corpus.sources.MAX_LIST_BYTES`, layout tables
  :data:`~dacl.corpus.sources.MAX_TABLE_BYTES`, annotation files
  :data:`~dacl.corpus.annotations.MAX_ANNOTATION_BYTES`;
* reads stay inside the corpus folder: record names must be relative paths
  without ``.``/``..``/empty parts, a header's signal file must be a plain file
  name, and in a folder every file is resolved (symlinks included) and refused
  if it lies outside the corpus root;
* a message quotes file content only as a short, sanitised excerpt
  (:func:`dacl.io.documents.excerpt`).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dacl.corpus.annotations import read_rhythms
from dacl.corpus.layouts import SINGLE_LEAD, LabelOptions, Layout, open_layout
from dacl.corpus.leads import canonical_lead, is_ecg, mv_divisor
from dacl.corpus.records import Interval, Record, RecordError, RecordInfo, file_sha256, signal_sha256, validate_signal
from dacl.corpus.sources import FolderSource, Source, ZipSource, folder_root
from dacl.corpus.wfdb import Header, open_record, read_header
from dacl.io.documents import excerpt

_T = TypeVar("_T")


class Corpus:
    """An ECG corpus: its layout, record names, labels, and thread-safe record reading.

    Use :func:`open_corpus` to make one. Attributes: ``layout`` (its name), ``layout_reason``
    (what ``"auto"`` saw), ``names`` (stable order), ``fingerprint`` (SHA-256 of the files that
    define the corpus), ``task`` (``"single-label"``, ``"multi-label"`` or ``"none"``) and
    :attr:`vocabulary`.
    """

    def __init__(self, source: Source, layout: Layout, leads_required: tuple[str, ...] | None = None) -> None:
        self._source = source
        self._layout = layout
        self.layout = layout.kind
        self.layout_reason = layout.reason
        self.names = layout.names
        self.fingerprint = layout.fingerprint
        self.task = layout.task
        self.leads_required = leads_required
        self._known = frozenset(self.names)

    def __repr__(self) -> str:
        return f"Corpus({self._source.description!r}, {self.layout}, {len(self.names)} records)"

    def __len__(self) -> int:
        return len(self.names)

    def close(self) -> None:
        """Release the open zip (a folder holds nothing open); also on leaving a ``with`` block."""
        self._source.close()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def vocabulary(self) -> tuple[str, ...] | None:
        """The label codes this corpus can carry, in a fixed order (CinC 2017: ``N A O ~``); ``None``
        when unlabelled. For ``cinc2021`` without ``label_map`` the first call reads every header."""
        return self._layout.vocabulary()

    def labels_of(self, name: str) -> tuple[str, ...] | None:
        """Record ``name``'s labels without reading its samples; ``None`` when it is unlabelled.
        A :class:`RecordError` when its labels are malformed (or its header, for labels kept there)."""
        self._check_known(name)
        header = read_header(self._source, name) if self._layout.labels_in_header else None
        return self._layout.labels(name, header)

    def label(self, name: str) -> str | None:
        """Record ``name``'s one label, or ``None`` when it has none or several."""
        labels = self.labels_of(name)
        return labels[0] if labels is not None and len(labels) == 1 else None

    def read(
        self,
        name: str,
        min_samples: int = 1,
        sampfrom: int = 0,
        sampto: int | None = None,
        *,
        keep_invalid: bool = False,
    ) -> Record:
        """Read and validate record ``name`` (samples ``sampfrom:sampto``, default the whole record);
        raises :class:`RecordError` naming it. See the module docstring for what it holds."""
        return self._guarded(name, lambda: self._read(name, min_samples, sampfrom, sampto, keep_invalid))

    def read_many(
        self, names: Sequence[str], min_samples: int = 1, threads: int = 4, *, keep_invalid: bool = False
    ) -> list[Record | RecordError]:
        """Read several records in parallel; bad ones come back as :class:`RecordError`."""

        def one(name: str) -> Record | RecordError:
            try:
                return self.read(name, min_samples, keep_invalid=keep_invalid)
            except RecordError as err:
                return err

        if threads <= 1 or len(names) <= 1:
            return [one(n) for n in names]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(one, names))

    def __iter__(self) -> Iterator[Record]:
        """Records in order; raises :class:`RecordError` at the first bad one."""
        for name in self.names:
            yield self.read(name)

    def info(self, name: str) -> RecordInfo:
        """What record ``name``'s header says about the leads :meth:`read` returns, without reading samples."""
        return self._guarded(name, lambda: self._info(name))

    def annotations(self, name: str) -> list[Interval] | None:
        """The rhythm intervals of record ``name`` from its ``.atr`` file (:mod:`dacl.corpus.annotations`),
        or ``None`` when it has none."""
        return self._guarded(
            name, lambda: read_rhythms(self._source, name, self._n_samples(name, read_header(self._source, name)))
        )

    # ------------------------------------------------------------------ reading

    def _guarded(self, name: str, call: Callable[[], _T]) -> _T:
        """``call()`` for a record of this corpus; what goes wrong is a :class:`RecordError` naming it."""
        self._check_known(name)
        try:
            return call()
        except RecordError:
            raise
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:  # a corrupt zip member, wfdb, ...
            raise RecordError(name, f"unreadable ({type(err).__name__}: {excerpt(str(err), 160)})") from err

    def _info(self, name: str) -> RecordInfo:
        header = read_header(self._source, name)
        channels = self._channels(name, header)
        return RecordInfo(name, self._n_samples(name, header), header.fs, channels.leads, channels.units)

    def _check_known(self, name: str) -> None:
        if name not in self._known:
            raise RecordError(excerpt(str(name), 80), "is not a record of this corpus")

    def _n_samples(self, name: str, header: Header) -> int:
        if header.n_samples is not None:
            return header.n_samples
        with open_record(self._source, name, header) as reader:  # the signal file's size says
            return reader.n_samples

    def _read(self, name: str, min_samples: int, sampfrom: int, sampto: int | None, keep_invalid: bool) -> Record:
        header = read_header(self._source, name)
        channels = self._channels(name, header)
        with open_record(self._source, name, header) as reader:
            raw = reader.read(sampfrom, sampto)
        rows = channels.rows
        signal = raw.signal if rows == list(range(header.n_signals)) else raw.signal[rows]
        for row, divisor in enumerate(channels.divisors):
            if divisor != 1.0:
                signal[row] /= divisor
        validate_signal(name, signal, header.fs, min_samples, allow_nan=keep_invalid)
        meta = {**self._layout.meta(name, header), **channels.meta()}
        invalid = {lead: raw.invalid[i] for lead, i in zip(channels.leads, rows, strict=True) if raw.invalid[i]}
        if invalid:
            meta["invalid"] = invalid
        labels = self._layout.labels(name, header if self._layout.labels_in_header else None)
        return Record(
            name, signal, channels.leads, header.fs, labels or (), signal_sha256(signal), meta, start=raw.sampfrom
        )

    def _channels(self, name: str, header: Header) -> _Channels:
        return _select(name, header, self._layout.lead_names(name, header), self.leads_required)


@dataclass(frozen=True)
class _Channels:
    """Which signals of a record are read, under what names, and how they become mV."""

    rows: list[int]  # signal indices in the header, in output order
    leads: tuple[str, ...]
    units: tuple[str, ...]  # as written
    divisors: tuple[float, ...]  # mV = value / divisor (1000 for µV; 1 for non-ECG channels asked for by name)
    dropped: tuple[str, ...]  # non-ECG channels left out: "ABP (mmHg)"
    other_units: dict[str, str]  # non-ECG channels asked for by name, and their units

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if self.dropped:
            meta["dropped"] = list(self.dropped)
        if self.other_units:
            meta["units"] = dict(self.other_units)
        return meta


def _select(name: str, header: Header, names: tuple[str, ...], required: tuple[str, ...] | None) -> _Channels:
    """The channels a read returns (see the module docstring)."""
    units = header.units
    ecg = [is_ecg(n, u) for n, u in zip(names, units, strict=True)]
    if required is None:
        rows = [i for i, e in enumerate(ecg) if e]
        if not rows:
            raise RecordError(name, f"has no ECG leads (its signals: {', '.join(excerpt(n, 16) for n in names)})")
        dropped = tuple(f"{excerpt(names[i], 16)} ({excerpt(units[i], 12)})" for i, e in enumerate(ecg) if not e)
    else:
        found = {lead: [i for i, n in enumerate(names) if n == lead] for lead in required}
        missing = [lead for lead, hits in found.items() if not hits]
        if missing:
            raise RecordError(name, f"missing leads: {', '.join(missing)}")
        rows = [found[lead][0] for lead in required]
        dropped = ()
    twice = sorted({names[i] for i in rows if names.count(names[i]) > 1})
    if twice:
        raise RecordError(name, f"lead {excerpt(twice[0], 16)} is the name of {names.count(twice[0])} signals")
    divisors = []
    for i in rows:
        divisor = mv_divisor(units[i]) if ecg[i] else 1.0
        if divisor is None:
            raise RecordError(
                name, f"lead {excerpt(names[i], 16)} is in '{excerpt(units[i], 12)}'; ECG leads must be in mV or µV"
            )
        divisors.append(divisor)
    other_units = {names[i]: units[i] for i in rows if not ecg[i]}
    return _Channels(
        rows, tuple(names[i] for i in rows), tuple(units[i] for i in rows), tuple(divisors), dropped, other_units
    )


# ------------------------------------------------------------------ opening


def _open_source(path: Path) -> tuple[Source, dict[str, str]]:
    """The source for a corpus folder or zip, and the fingerprint entries known up front."""
    if path.is_dir():
        return FolderSource(folder_root(path)), {}
    if zipfile.is_zipfile(path):
        return ZipSource(path), {"zip_sha256": file_sha256(path)}
    raise ValueError(f"{path}: neither a folder nor a zip archive")


def _leads(leads_required: Sequence[str] | None) -> tuple[str, ...] | None:
    if leads_required is None:
        return None
    if isinstance(leads_required, str) or not all(isinstance(lead, str) and lead.strip() for lead in leads_required):
        raise TypeError("leads_required must be a sequence of lead names, e.g. ('I', 'II', 'V1')")
    leads = tuple(canonical_lead(lead.strip()) for lead in leads_required)
    if not leads or len(set(leads)) != len(leads):
        raise ValueError(f"leads_required must name at least one lead, each once; got {', '.join(leads) or 'none'}")
    return leads


def open_corpus(
    path: str | os.PathLike[str],
    layout: str = "auto",
    *,
    partial_labels: bool = False,
    labels: str | os.PathLike[str] | None = None,
    label_map: str | None = None,
    scp_level: str = "all",
    scp_threshold: float = 0.0,
    leads_required: Sequence[str] | None = None,
    ptbxl_records: str = "auto",
) -> Corpus:
    """Open a corpus from a ``.zip`` or a folder (see the module docstring and :mod:`dacl.corpus.layouts`).

    Args:
        path: the zip, the corpus folder, or a folder holding just that folder.
        layout: ``"auto"`` (detect; :attr:`Corpus.layout_reason` says why), ``"cinc2017"``,
            ``"cinc2021"`` (also CinC 2020), ``"ptbxl"``, ``"mimic-iv-ecg"`` or ``"wfdb"``.
        partial_labels: accept a label table (``REFERENCE.csv``, a labels CSV) that misses or adds
            records, and CinC 2021 headers without ``# Dx:`` (unlabelled).
        labels: ``wfdb`` only: a labels CSV ``record,labels`` (labels separated by ``;``).
        label_map: ``cinc2021`` only: ``"cinc-scored"`` maps the SNOMED CT codes to the challenge's
            scored classes, equivalent codes merged, unscored ones dropped.
        scp_level, scp_threshold: ``ptbxl`` only: the SCP aggregation level (``all``, ``diagnostic``,
            ``subdiagnostic``, ``superdiagnostic``, ``form``, ``rhythm``) and the least likelihood (%).
        leads_required: read these channels, by name, in this order (ECG leads or not) instead of
            every ECG lead; a record lacking one is a :class:`RecordError` ``missing leads: ...``.
        ptbxl_records: ``ptbxl`` only: ``"500"`` (``records500/``), ``"100"`` or ``"auto"`` (500 when there).

    Reads the record list and label tables now; records themselves are read by :meth:`Corpus.read`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus not found: {path}")
    options = LabelOptions(
        partial_labels=partial_labels,
        labels=None if labels is None else Path(labels),
        label_map=label_map,
        scp_level=scp_level,
        scp_threshold=scp_threshold,
        ptbxl_records=ptbxl_records,
    )
    required = _leads(leads_required)
    source, fingerprint = _open_source(path)
    try:
        return Corpus(source, open_layout(source, layout, options, fingerprint), required)
    except BaseException:
        source.close()
        raise


__all__ = ["SINGLE_LEAD", "Corpus", "open_corpus"]
