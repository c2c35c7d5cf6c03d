"""Read WFDB records fast, in ranges, from a folder or a zip.

Nearly all public ECG data is stored in a handful of WFDB signal formats:
16 (PTB-XL, CinC 2020/2021, MIMIC-IV-ECG, CPSC), 212 (MIT-BIH), and less
often 24, 32, 61, 80 and 160. These are decoded here with numpy, from just the
bytes a sample range needs, so a record days long can be read in bounded
chunks. Everything else a valid header can declare (format 8, 310, 311, the
FLAC formats 508/516/524, several samples per frame, skew) goes through
``wfdb.rdrecord``, which also reads only the requested range (from a temporary
copy of just that record's files when the corpus is a zip).

The bytes come from a :class:`dacl.corpus.sources.Source` (a folder, confined to
its root, or a zip); both hand the same bytes to the same decoder, so zip and
folder give identical records.

What a read returns (:class:`WfdbRecord`)
-----------------------------------------
* ``signal``: float64 ``(n_leads, n_samples)`` in the header's physical units,
  computed as ``wfdb`` does, ``(digital - baseline) / gain``, so the values are
  bit-identical to ``wfdb.rdrecord(...).p_signal.T``;
* WFDB "invalid sample" values (the most negative value of the format) are NaN,
  counted per lead in ``invalid``;
* ``leads``: canonical lead names (:func:`dacl.corpus.leads.canonical_lead`) and
  ``units`` as written, for the corpus layer to convert or reject.

Checks
------
Anything malformed raises :class:`~dacl.corpus.records.RecordError` (a ``ValueError``)
naming the record and the problem, quoting at most a short excerpt of the file:
unparseable or inconsistent header fields, non-finite or negative gains, a
signal file shorter than its header declares (found from the file size, before
anything is read or allocated), a ``.mat`` signal file whose MATLAB header
disagrees with the WFDB header (or that declares any format but 16), a file that
resolves outside the corpus folder, and a per-signal checksum that disagrees
with the data when the whole record is read. Nothing is read beyond what the
header declares: a header at most 1 MiB, a signal file up to its declared
samples (a ``.mat`` must be exactly its matrix). Multi-segment records are
rejected with a clear error.
"""

from __future__ import annotations

import math
import operator
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from dacl.corpus.leads import canonical_lead
from dacl.corpus.records import RecordError
from dacl.corpus.sources import (
    FolderSource,
    OutsideCorpus,
    SeekableReader,
    Source,
    TooLarge,
    copy_file,
    size_text,
)
from dacl.io.documents import excerpt

#: Every signal format the WFDB specification defines (``wfdb`` reads them all).
WFDB_FORMATS = frozenset({"8", "16", "24", "32", "61", "80", "160", "212", "310", "311", "508", "516", "524"})

#: Bytes per sample of the formats decoded here (212 packs two samples in three bytes).
_SAMPLE_BYTES = {"16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5}
#: Bits per sample of the formats read through ``wfdb`` (FLAC 5xx: their uncompressed size, an upper bound).
_FALLBACK_BITS = {"8": 8, "310": 32 / 3, "311": 32 / 3, "508": 8, "516": 16, "524": 24}
#: Slack on the size of a signal file copied for ``wfdb`` (bit packing, FLAC frame headers).
_COPY_SLACK_BYTES = 64 << 10

#: WFDB's "invalid sample" value of each format decoded here (after removing 80/160's offset).
_INVALID_SAMPLE = {
    "16": -(2**15),
    "24": -(2**23),
    "32": -(2**31),
    "61": -(2**15),
    "80": -(2**7),
    "160": -(2**15),
    "212": -(2**11),
}

#: WFDB's default adc gain (used when the header gives none, or zero).
_DEFAULT_GAIN = 200.0
#: WFDB's default sampling frequency when the record line gives none.
_DEFAULT_FS = 250.0

#: A header larger than this is not a single-segment WFDB header.
MAX_HEADER_BYTES = 1 << 20
#: MATLAB v4 type code for a little-endian int16 real matrix (M=0, O=0, P=3, T=0).
_MAT4_INT16_LE = 30

_COUNT = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_FS_FIELD = re.compile(rf"({_NUMBER})(?:/({_NUMBER})(?:\(({_NUMBER})\))?)?")
_FMT_FIELD = re.compile(r"([0-9]+)(?:x([0-9]+))?(?::([0-9]+))?(?:\+([0-9]+))?")
_NEGATIVE_OFFSET = re.compile(r"[0-9x:]+\+(-[0-9]+)")
_GAIN_FIELD = re.compile(r"([^(/]*)(?:\(([^()/]*)\))?(?:/(\S*))?")
_FILE_NAME = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9_.~-]*")
#: Bytes that never occur in a text header (C0 controls except whitespace, and DEL).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


def _quote(text: str, limit: int = 40) -> str:
    """A short quote of file content for an error message."""
    return f"'{excerpt(text, limit)}'"


class _LazyText:
    """Message text made only when a message is (quoting a line costs more than parsing it)."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make

    def __str__(self) -> str:
        return self._make()


def base_name(rel: str) -> str:
    """The last part of a POSIX relative path (``records500/00000/00001_hr`` -> ``00001_hr``)."""
    return rel.rsplit("/", 1)[-1]


# ------------------------------------------------------------------ header


@dataclass(frozen=True)
class SignalSpec:
    """One signal line of a WFDB header (defaults filled in as WFDB defines them)."""

    file_name: str
    fmt: str
    samples_per_frame: int
    skew: int
    byte_offset: int
    gain: float  # adc units per physical unit; a zero or absent gain is WFDB's default 200
    baseline: int  # digital value of physical zero; absent: the adc zero
    units: str  # as written; absent: "mV"
    adc_resolution: int | None
    adc_zero: int | None
    initial_value: int | None
    checksum: int | None
    block_size: int | None
    description: str  # the lead name as written ("" when absent)


@dataclass(frozen=True)
class Header:
    """A parsed single-segment WFDB header."""

    name: str
    n_signals: int
    fs: float
    counter_freq: float | None
    base_counter: float | None
    n_samples: int | None  # None when the header leaves it to the signal file's size
    base_time: str | None
    base_date: str | None
    signals: tuple[SignalSpec, ...]
    comments: tuple[str, ...]  # text after '#', stripped, in order

    @property
    def leads(self) -> tuple[str, ...]:
        """Canonical lead names (:func:`canonical_lead`), in signal order."""
        return tuple(canonical_lead(s.description) for s in self.signals)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(s.units for s in self.signals)


def parse_header(name: str, text: str) -> Header:
    """Parse the text of record ``name``'s ``.hea`` file; raises :class:`RecordError` if malformed.

    ``name`` is the record's path relative to its source (``"100"``, ``"records500/00000/00001_hr"``);
    the record line must name its last part.
    """
    lines: list[str] = []
    comments: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            comments.append(line[1:].strip())
        elif line:
            lines.append(line)
    if not lines:
        raise RecordError(name, "header (.hea) has no record line")
    record = _parse_record_line(name, lines[0])
    n_signals = record["n_signals"]
    if len(lines) - 1 < n_signals:
        raise RecordError(
            name, f"header (.hea) is truncated: it declares {n_signals} signals but has {len(lines) - 1} signal lines"
        )
    if len(lines) - 1 > n_signals:
        raise RecordError(name, f"header declares {n_signals} signals but has {len(lines) - 1} signal lines")
    signals = tuple(_parse_signal_line(name, i, line) for i, line in enumerate(lines[1:]))
    return Header(signals=signals, comments=tuple(comments), **record)


def _parse_record_line(name: str, line: str) -> dict[str, Any]:
    fields = line.split()
    bad = _LazyText(lambda: f"header record line {_quote(line)}")
    if len(fields) < 2 or len(fields) > 6:
        raise RecordError(name, f"{bad} has {len(fields)} fields, expected 2 to 6")
    record_name, slash, n_seg = fields[0].partition("/")
    if slash:
        raise RecordError(name, f"is a multi-segment record ({_quote(n_seg, 12)} segments); not supported")
    if record_name != base_name(name):
        raise RecordError(name, f"header names record {_quote(record_name)}")
    n_signals = _count(name, fields[1], "signal count", bad)
    fs, counter_freq, base_counter = _DEFAULT_FS, None, None
    if len(fields) > 2:
        match = _FS_FIELD.fullmatch(fields[2])
        if match is None:
            raise RecordError(name, f"{bad}: sampling frequency {_quote(fields[2], 20)} is not a number")
        fs = float(match[1])
        counter_freq = float(match[2]) if match[2] else None
        base_counter = float(match[3]) if match[3] else None
        for value, what in ((fs, "sampling frequency"), (counter_freq, "counter frequency")):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise RecordError(name, f"{bad}: {what} {value} is not a positive finite number")
    n_samples = _count(name, fields[3], "sample count", bad) if len(fields) > 3 else None
    return {
        "name": record_name,
        "n_signals": n_signals,
        "fs": fs,
        "counter_freq": counter_freq,
        "base_counter": base_counter,
        "n_samples": n_samples,
        "base_time": fields[4] if len(fields) > 4 else None,
        "base_date": fields[5] if len(fields) > 5 else None,
    }


def _count(name: str, field: str, what: str, where: _LazyText) -> int:
    if _INTEGER.fullmatch(field) and int(field) < 0:
        raise RecordError(name, f"{where}: {what} {int(field)} is negative")
    if not _COUNT.fullmatch(field):
        raise RecordError(name, f"{where}: {what} {_quote(field, 20)} is not a non-negative integer")
    return int(field)


def _integer(name: str, where: str, field: str, what: str, minimum: int | None = None) -> int:
    if not _INTEGER.fullmatch(field):
        raise RecordError(name, f"{where}: {what} {_quote(field, 20)} is not an integer")
    value = int(field)
    if minimum is not None and value < minimum:
        raise RecordError(name, f"{where}: {what} {value} is below {minimum}")
    return value


def _format_field(name: str, where: str, field: str) -> tuple[str, int, int, int]:
    """``(format, samples per frame, skew, byte offset)`` of a signal line's ``FMTxSPF:SKEW+OFFSET`` field."""
    negative = _NEGATIVE_OFFSET.fullmatch(field)
    if negative:
        raise RecordError(name, f"{where}: byte offset {negative[1]} is negative")
    match = _FMT_FIELD.fullmatch(field)
    if match is None:
        raise RecordError(name, f"{where}: format field {_quote(field, 20)} is not valid WFDB")
    if match[1] not in WFDB_FORMATS:
        raise RecordError(name, f"{where}: unknown WFDB format {_quote(match[1], 8)}")
    samples_per_frame = _integer(name, where, match[2], "samples per frame", 1) if match[2] else 1
    return match[1], samples_per_frame, int(match[3] or 0), int(match[4] or 0)


def _gain_field(name: str, where: str, field: str, adc_zero: int | None) -> tuple[float, int, str]:
    """``(gain, baseline, units)`` of a signal line's ``GAIN(BASELINE)/UNITS`` field (WFDB's defaults filled in)."""
    match = _GAIN_FIELD.fullmatch(field)
    if match is None:
        raise RecordError(name, f"{where}: gain field {_quote(field, 20)} is not valid WFDB")
    try:
        gain = float(match[1])
    except ValueError:
        raise RecordError(name, f"{where}: gain {_quote(match[1], 20)} is not a number") from None
    if not (math.isfinite(gain) and gain >= 0):
        raise RecordError(name, f"{where}: gain {gain} is not a non-negative finite number")
    baseline = _integer(name, where, match[2], "baseline") if match[2] is not None else adc_zero or 0
    return gain or _DEFAULT_GAIN, baseline, match[3] or "mV"  # WFDB: a zero gain means the default


def _parse_signal_line(name: str, index: int, line: str) -> SignalSpec:
    where = f"header signal line {index + 1}"
    fields = line.split(None, 8)  # the description (lead name) is the rest of the line, spaces and all
    if len(fields) < 2:
        raise RecordError(name, f"{where} {_quote(line)} has no format field")
    file_name = fields[0]
    if not _FILE_NAME.fullmatch(file_name):  # no path separators, no leading dot
        raise RecordError(
            name,
            f"{where}: signal file name {_quote(file_name, 20)} is not a plain file name; "
            "a file outside the record's folder is not read",
        )
    fmt, samples_per_frame, skew, byte_offset = _format_field(name, where, fields[1])
    optional = [
        (3, "adc resolution", 0),
        (4, "adc zero", None),
        (5, "initial value", None),
        (6, "checksum", None),
        (7, "block size", 0),
    ]
    adc_resolution, adc_zero, initial_value, checksum, block_size = (
        _integer(name, where, fields[i], what, minimum) if len(fields) > i else None for i, what, minimum in optional
    )
    gain, baseline, units = (
        (_DEFAULT_GAIN, adc_zero or 0, "mV") if len(fields) < 3 else _gain_field(name, where, fields[2], adc_zero)
    )
    return SignalSpec(
        file_name=file_name,
        fmt=fmt,
        samples_per_frame=samples_per_frame,
        skew=skew,
        byte_offset=byte_offset,
        gain=gain,
        baseline=baseline,
        units=units,
        adc_resolution=adc_resolution,
        adc_zero=adc_zero,
        initial_value=initial_value,
        checksum=checksum,
        block_size=block_size,
        description=fields[8] if len(fields) > 8 else "",
    )


def header_text(name: str, data: bytes) -> str:
    """The text of a ``.hea`` file's bytes: UTF-8 (else Latin-1); binary content is a :class:`RecordError`."""
    if len(data) > MAX_HEADER_BYTES:
        raise RecordError(name, f"header (.hea) is {len(data)} bytes; not a WFDB header")
    if _BINARY_BYTES.search(data):
        raise RecordError(name, "header (.hea) holds binary data, not text; corrupt")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# ------------------------------------------------------------------ decoding


def _byte_count(fmt: str, n_flat: int) -> int:
    """Bytes holding ``n_flat`` consecutive samples (starting on a 212 pair boundary)."""
    if fmt == "212":
        return (3 * n_flat + 1) // 2
    return n_flat * int(_SAMPLE_BYTES[fmt])


def _decode(fmt: str, raw: bytes, n_flat: int) -> np.ndarray:
    """``n_flat`` digital samples (signed integers) from the bytes of a format."""
    if fmt == "16":
        return np.frombuffer(raw, "<i2", count=n_flat)
    if fmt == "32":
        return np.frombuffer(raw, "<i4", count=n_flat)
    if fmt == "61":
        return np.frombuffer(raw, ">i2", count=n_flat)
    if fmt == "80":
        return np.frombuffer(raw, np.uint8, count=n_flat).astype(np.int16) - 128
    if fmt == "160":
        return np.frombuffer(raw, "<u2", count=n_flat).astype(np.int32) - 32768
    if fmt == "24":
        b = np.frombuffer(raw, np.uint8, count=3 * n_flat).reshape(-1, 3).astype(np.int32)
        # Shift the 24-bit value to the top of the int32, then back: an arithmetic shift sign-extends it.
        return ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)) >> 8
    if fmt == "212":
        b = np.frombuffer(raw, np.uint8)
        if len(b) % 3:
            b = np.concatenate([b, np.zeros(3 - len(b) % 3, np.uint8)])
        b = b.reshape(-1, 3).astype(np.int16)
        pairs = np.empty((len(b), 2), np.int16)
        # Each pair of 12-bit samples: low bytes in bytes 0 and 2, high nibbles in byte 1.
        # Built in the top 12 bits of an int16 and shifted back down to sign-extend.
        pairs[:, 0] = (b[:, 0] << 4) | ((b[:, 1] & 0x0F) << 12)
        pairs[:, 1] = (b[:, 2] << 4) | ((b[:, 1] & 0xF0) << 8)
        return pairs.reshape(-1)[:n_flat] >> 4
    raise AssertionError(f"format {fmt} has no decoder")


@dataclass(frozen=True)
class _FilePlan:
    """How to read one signal file: its signals are interleaved frame by frame."""

    rel: str
    fmt: str
    byte_offset: int
    channels: tuple[int, ...]  # output rows, in file order

    @property
    def rows(self) -> slice | list[int]:
        """The output rows as a slice when consecutive (the usual case: cheaper to index)."""
        first, last = self.channels[0], self.channels[-1]
        if list(self.channels) == list(range(first, last + 1)):
            return slice(first, last + 1)
        return list(self.channels)

    def byte_range(self, sampfrom: int, sampto: int) -> tuple[int, int, int]:
        """(first byte, byte count, samples to drop in front) holding frames ``sampfrom:sampto``."""
        k = len(self.channels)
        flat_from, flat_to = sampfrom * k, sampto * k
        lead_in = flat_from % 2 if self.fmt == "212" else 0  # 212 reads start on a pair boundary
        start = flat_from - lead_in
        return self.byte_offset + _byte_count(self.fmt, start), _byte_count(self.fmt, flat_to - start), lead_in


def _digital_sums(fmt: str, frames: np.ndarray, as_float: np.ndarray) -> np.ndarray:
    """Per-signal sums of the digital samples (for checksums), exact.

    Summing the float64 copy (rows, contiguous) is several times faster than
    reducing the interleaved integer frames, and exact while no partial sum can
    reach 2**53; past that (32-bit formats in very long ranges) sum as int64,
    whose wrap-around is harmless modulo 2**16.
    """
    bits = 32 if fmt == "32" else 24 if fmt == "24" else 16
    if len(frames) < 2 ** (53 - bits):
        return as_float.sum(axis=1).astype(np.int64)
    return frames.sum(axis=0, dtype=np.int64)


def fallback_reason(header: Header) -> str | None:
    """Why ``header``'s record goes through ``wfdb.rdrecord`` rather than the numpy decoder (``None``: it does not)."""
    for i, s in enumerate(header.signals):
        if s.fmt not in _SAMPLE_BYTES:
            return f"format {s.fmt} (signal {i})"
        if s.samples_per_frame != 1:
            return f"{s.samples_per_frame} samples per frame (signal {i})"
        if s.skew:
            return f"skew {s.skew} (signal {i})"
    return None


def _signal_rel(name: str, file_name: str) -> str:
    """Signal files live beside their header."""
    folder, slash, _ = name.rpartition("/")
    return f"{folder}{slash}{file_name}"


def _check_mat_specs(name: str, header: Header) -> None:
    """CinC's ``.mat`` signal files are MATLAB v4 int16 matrices: WFDB format 16, one sample per frame."""
    for i, s in enumerate(header.signals):
        if s.file_name.lower().endswith(".mat") and (s.fmt != "16" or s.samples_per_frame != 1 or s.skew):
            declared = s.fmt + (f"x{s.samples_per_frame}" if s.samples_per_frame != 1 else "")
            declared += f":{s.skew}" if s.skew else ""
            raise RecordError(
                name,
                f"signal {i} declares format {declared} for the MATLAB file {s.file_name}; "
                "a .mat signal file holds format 16 only",
            )


def _plan_files(name: str, header: Header) -> list[_FilePlan]:
    """Group the signals by file (in order of first appearance), checking each file is read one way."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(header.signals):
        groups.setdefault(s.file_name, []).append(i)
    plans = []
    for file_name, channels in groups.items():
        specs = [header.signals[c] for c in channels]
        if len({(s.fmt, s.byte_offset) for s in specs}) > 1:
            raise RecordError(name, f"signals sharing file {file_name} declare different formats or byte offsets")
        plans.append(_FilePlan(_signal_rel(name, file_name), specs[0].fmt, specs[0].byte_offset, tuple(channels)))
    return plans


# ------------------------------------------------------------------ reading


@dataclass(frozen=True, eq=False)
class WfdbRecord:
    """Samples ``sampfrom:sampfrom + signal.shape[1]`` of a record, one row per lead.

    Attributes:
        name: the record's name in its source.
        fs: sampling frequency in Hz.
        signal: float64 ``(n_leads, n_samples)`` in the header's physical units; invalid samples are NaN.
        leads: canonical lead names (:func:`canonical_lead`).
        units: each lead's units as written (:func:`dacl.corpus.leads.mv_divisor` converts mV and µV).
        sampfrom: index of the first sample in the record.
        invalid: number of invalid (NaN) samples per lead.
        reader: ``"numpy"``, or ``"wfdb: REASON"`` when ``wfdb.rdrecord`` read it.
        header: the parsed header (comments included).
    """

    name: str
    fs: float
    signal: np.ndarray
    leads: tuple[str, ...]
    units: tuple[str, ...]
    sampfrom: int
    invalid: tuple[int, ...]
    reader: str
    header: Header

    @property
    def invalid_leads(self) -> dict[str, int]:
        """Leads holding invalid samples, with their count."""
        return {lead: n for lead, n in zip(self.leads, self.invalid, strict=True) if n}


def read_header(source: Source, name: str) -> Header:
    """Read and parse ``name.hea`` from ``source`` (at most :data:`MAX_HEADER_BYTES`)."""
    rel = f"{name}.hea"
    size = _size(source, name, rel, "header file")
    if size > MAX_HEADER_BYTES:
        raise RecordError(name, f"header (.hea) is {size} bytes; not a WFDB header")
    try:
        fh = source.open(rel)
        try:
            data = fh.read(size + 1)  # the size is checked above; a file growing meanwhile is caught below
        finally:
            fh.close()
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise RecordError(name, f"header (.hea) is corrupt or unreadable ({excerpt(str(err), 120)})") from None
    return parse_header(name, header_text(name, data))


def _size(source: Source, name: str, rel: str, what: str) -> int:
    """The size of one of record ``name``'s files; missing or outside the corpus: a :class:`RecordError`."""
    try:
        return source.size(rel)
    except FileNotFoundError:
        raise RecordError(name, f"{what} {base_name(rel)} is missing") from None
    except OutsideCorpus as err:
        raise RecordError(name, str(err)) from None


class RecordReader:
    """An open record: read any sample range, or walk it in chunks, with bounded memory.

    Use :func:`open_record`; close it (or use ``with``) to release its files.
    """

    def __init__(self, source: Source, name: str, header: Header | None = None) -> None:
        self.name = name
        self.header = header if header is not None else read_header(source, name)
        if self.header.n_signals == 0:
            raise RecordError(name, "header declares no signals")
        _check_mat_specs(name, self.header)
        self.fallback = fallback_reason(self.header)
        self._handles: dict[str, SeekableReader] = {}
        self._wfdb: _WfdbReader | None = None
        try:
            if self.fallback is None:
                self._plans = _plan_files(name, self.header)
                self.n_samples = self._open_files(source)
            else:
                self._wfdb = _WfdbReader(source, name, self.header)
                self.n_samples = self._wfdb.n_samples
        except BaseException:
            self.close()
            raise
        specs = self.header.signals
        self._checked = any(s.checksum for s in specs)
        self._baseline = np.array([s.baseline for s in specs], dtype=np.float64)[:, None]
        self._gain = np.array([s.gain for s in specs], dtype=np.float64)[:, None]

    def _open_files(self, source: Source) -> int:
        """Open every signal file, checking its size (and MATLAB header) against the header; the sample count."""
        n_samples = self.header.n_samples
        for plan in self._plans:
            size = _size(source, self.name, plan.rel, "signal file")
            try:
                self._handles[plan.rel] = source.open(plan.rel)
            except (OSError, ValueError, zipfile.BadZipFile) as err:
                raise self._unreadable(plan, err) from None
            if n_samples is None:  # as wfdb: the first signal file's size says how long the record is
                frame_bytes = _SAMPLE_BYTES[plan.fmt] * len(plan.channels)
                n_samples = int(max(size - plan.byte_offset, 0) // frame_bytes)
            if plan.rel.lower().endswith(".mat"):
                self._check_mat_header(plan, size, n_samples)
            _, need, _ = plan.byte_range(0, n_samples)
            if size < plan.byte_offset + need:
                raise RecordError(
                    self.name,
                    f"signal file {base_name(plan.rel)} is truncated: {size} bytes, the header declares "
                    f"{n_samples} samples x {len(plan.channels)} signals in format {plan.fmt} "
                    f"({plan.byte_offset + need} bytes)",
                )
        assert n_samples is not None
        return n_samples

    def _check_mat_header(self, plan: _FilePlan, size: int, n_samples: int) -> None:
        file_name = base_name(plan.rel)
        raw = self._read_exact(plan, 0, 20)
        mtype, rows, cols, imagf, namelen = (int(v) for v in np.frombuffer(raw, "<i4", count=5))
        if mtype != _MAT4_INT16_LE or imagf != 0 or 20 + namelen != plan.byte_offset:
            raise RecordError(
                self.name, f"signal file {file_name} is not the MATLAB v4 int16 matrix its header declares"
            )
        if (rows, cols) != (len(plan.channels), n_samples):
            raise RecordError(
                self.name,
                f"signal file {file_name} holds a {rows}x{cols} matrix, "
                f"the header declares {len(plan.channels)}x{n_samples}",
            )
        expected = plan.byte_offset + 2 * rows * cols
        if size < expected:
            raise RecordError(self.name, f"signal file {file_name} is truncated: {size} bytes, its matrix {expected}")
        if size > expected:
            raise RecordError(
                self.name,
                f"signal file {file_name} is larger than its header declares "
                f"({size_text(size)}, its matrix {expected} bytes); corrupt",
            )

    def _unreadable(self, plan: _FilePlan, err: Exception) -> RecordError:
        file_name = base_name(plan.rel)
        return RecordError(self.name, f"signal file {file_name} is corrupt or unreadable ({excerpt(str(err), 120)})")

    def _read_exact(self, plan: _FilePlan, start: int, count: int) -> bytes:
        fh = self._handles[plan.rel]
        try:
            fh.seek(start)
            data = fh.read(count)
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
            raise self._unreadable(plan, err) from err
        if len(data) != count:
            raise RecordError(self.name, f"signal file {base_name(plan.rel)} ended early; truncated")
        return data

    def _check_range(self, sampfrom: int, sampto: int | None) -> tuple[int, int]:
        sampfrom = operator.index(sampfrom)
        sampto = self.n_samples if sampto is None else operator.index(sampto)
        if not 0 <= sampfrom <= sampto <= self.n_samples:
            raise RecordError(self.name, f"sample range {sampfrom}:{sampto} is outside 0:{self.n_samples}")
        return sampfrom, sampto

    def read(self, sampfrom: int = 0, sampto: int | None = None) -> WfdbRecord:
        """Samples ``sampfrom:sampto`` (default: to the end); checksums are verified when that is the whole record."""
        sampfrom, sampto = self._check_range(sampfrom, sampto)
        signal, invalid, sums = self._read_range(sampfrom, sampto)
        if sums is not None and (sampfrom, sampto) == (0, self.n_samples):
            self._verify_checksums(sums)
        return self._record(signal, invalid, sampfrom)

    def chunks(self, chunk_samples: int) -> Iterator[WfdbRecord]:
        """The whole record in consecutive chunks of ``chunk_samples`` (the last may be shorter).

        Checksums are accumulated and verified after the last chunk, so a corrupt
        file raises :class:`RecordError` at the end of the walk.
        """
        chunk_samples = operator.index(chunk_samples)
        if chunk_samples < 1:
            raise ValueError(f"chunk_samples must be positive, got {chunk_samples}")
        total: np.ndarray | None = None
        for start in range(0, self.n_samples, chunk_samples):
            stop = min(start + chunk_samples, self.n_samples)
            signal, invalid, sums = self._read_range(start, stop)
            if sums is not None:
                total = sums if total is None else total + sums
            yield self._record(signal, invalid, start)
        if total is not None:
            self._verify_checksums(total)

    def _record(self, signal: np.ndarray, invalid: np.ndarray, sampfrom: int) -> WfdbRecord:
        h = self.header
        reader = "numpy" if self.fallback is None else f"wfdb: {self.fallback}"
        invalid_counts = tuple(int(n) for n in invalid)
        return WfdbRecord(self.name, h.fs, signal, h.leads, h.units, sampfrom, invalid_counts, reader, h)

    def _read_range(self, sampfrom: int, sampto: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(physical signal, invalid count per lead, digital sum per lead or None when wfdb read it)."""
        if self._wfdb is not None:
            signal = self._wfdb.read(sampfrom, sampto)
            return signal, np.isnan(signal).sum(axis=1), None
        n = sampto - sampfrom
        signal = np.empty((self.header.n_signals, n), dtype=np.float64)
        invalid_mask = np.empty(signal.shape, dtype=bool)
        sums = np.zeros(self.header.n_signals, dtype=np.int64)
        for plan in self._plans:
            start, count, lead_in = plan.byte_range(sampfrom, sampto)
            raw = self._read_exact(plan, start, count)
            k = len(plan.channels)
            frames = _decode(plan.fmt, raw, lead_in + n * k)[lead_in:].reshape(n, k)
            rows = plan.rows
            signal[rows] = frames.T
            invalid_mask[rows] = (frames == _INVALID_SAMPLE[plan.fmt]).T
            if self._checked:  # headers that write no checksum (0) need no sum
                sums[rows] = _digital_sums(plan.fmt, frames, signal[rows])
        # The same float64 operations, in the same order, as wfdb's digital-to-physical conversion.
        signal -= self._baseline
        signal /= self._gain
        if not invalid_mask.any():
            return signal, np.zeros(len(signal), dtype=np.int64), sums
        signal[invalid_mask] = np.nan
        return signal, np.count_nonzero(invalid_mask, axis=1), sums

    def _verify_checksums(self, sums: np.ndarray) -> None:
        bad = []
        for i, (spec, total) in enumerate(zip(self.header.signals, sums, strict=True)):
            # 0 is written by PhysioNet 2017 for "not computed"; either signed or unsigned 16-bit forms occur.
            if spec.checksum and (spec.checksum - int(total)) % 65536:
                lead = _quote(spec.description, 16) if spec.description else "unnamed"
                bad.append(f"signal {i} ({lead}): header {spec.checksum}, data {total % 65536}")
        if bad:
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            raise RecordError(self.name, f"checksum mismatch, signal file corrupt: {'; '.join(bad[:3])}{more}")

    def close(self) -> None:
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()
        if self._wfdb is not None:
            self._wfdb.close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _WfdbReader:
    """``wfdb.rdrecord`` on the record's files: in place for a folder, else from a temporary copy.

    The copy (zip sources) is streamed to disk in blocks and kept until closed,
    so walking a record in chunks copies it once.
    """

    def __init__(self, source: Source, name: str, header: Header) -> None:
        if header.n_samples is None:
            raise RecordError(name, f"header gives no sample count, which reading {fallback_reason(header)} needs")
        self.name = name
        self.n_samples = header.n_samples
        self._n_signals = header.n_signals
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        base = base_name(name)
        limits = {f"{name}.hea": MAX_HEADER_BYTES, **_signal_file_limits(name, header)}
        try:
            local = source.local_path(f"{name}.hea")
            for rel in limits:
                source.local_path(rel)  # confined too
        except OutsideCorpus as err:
            raise RecordError(name, str(err)) from None
        if local is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="dacl-wfdb-")
            try:
                for rel, limit in limits.items():
                    self._copy(source, rel, limit, Path(self._tmp.name))
            except BaseException:
                self.close()
                raise
            local = Path(self._tmp.name, f"{base}.hea")
        self._path = str(local.with_name(base))

    def _copy(self, source: Source, rel: str, limit: int, folder: Path) -> None:
        """Copy one file, refusing one larger than ``limit`` (before copying anything when its size says so)."""
        what = "header file" if rel.endswith(".hea") else "signal file"
        _size(source, self.name, rel, what)  # missing: named
        try:
            copy_file(source, rel, folder / base_name(rel), limit)
        except TooLarge:
            raise RecordError(
                self.name, f"{what} {base_name(rel)} is larger than its header declares ({size_text(limit)})"
            ) from None

    def read(self, sampfrom: int, sampto: int) -> np.ndarray:
        if sampto == sampfrom:  # wfdb refuses empty ranges
            return np.empty((self._n_signals, 0), dtype=np.float64)
        import wfdb

        try:
            record = wfdb.rdrecord(self._path, sampfrom=sampfrom, sampto=sampto)
        except Exception as err:  # wfdb raises bare Exceptions, ValueErrors, IndexErrors ...: name the record
            problem = f"wfdb could not read it ({type(err).__name__}: {_quote(str(err), 120)})"
            raise RecordError(self.name, problem) from err
        signal = record.p_signal
        if signal is None or signal.shape != (sampto - sampfrom, self._n_signals):
            raise RecordError(self.name, "wfdb returned a signal of unexpected shape")
        return np.ascontiguousarray(signal.T, dtype=np.float64)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _signal_file_limits(name: str, header: Header) -> dict[str, int]:
    """The most bytes each signal file of a record read through ``wfdb`` may hold: what its samples
    need in their format, plus some slack for bit packing and FLAC framing."""
    assert header.n_samples is not None
    bits: dict[str, float] = {}
    offsets: dict[str, int] = {}
    for s in header.signals:
        rel = _signal_rel(name, s.file_name)
        per_sample = 8 * _SAMPLE_BYTES[s.fmt] if s.fmt in _SAMPLE_BYTES else _FALLBACK_BITS[s.fmt]
        bits[rel] = bits.get(rel, 0.0) + per_sample * s.samples_per_frame
        offsets[rel] = s.byte_offset
    return {rel: offsets[rel] + math.ceil(header.n_samples * b / 8) + _COPY_SLACK_BYTES for rel, b in bits.items()}


def open_record(source: Source, name: str, header: Header | None = None) -> RecordReader:
    """Open record ``name`` of ``source`` for reading (see :class:`RecordReader`)."""
    return RecordReader(source, name, header)


def read_record(source: Source, name: str, sampfrom: int = 0, sampto: int | None = None) -> WfdbRecord:
    """Read samples ``sampfrom:sampto`` of record ``name`` from ``source``."""
    with open_record(source, name) as reader:
        return reader.read(sampfrom, sampto)


def read_path(path: str | Path, sampfrom: int = 0, sampto: int | None = None) -> WfdbRecord:
    """Read a record on disk given its path without extension (``data/100``) or its ``.hea``."""
    path = Path(path)
    if path.suffix == ".hea":
        path = path.with_suffix("")
    return read_record(FolderSource(path.parent), path.name, sampfrom, sampto)
