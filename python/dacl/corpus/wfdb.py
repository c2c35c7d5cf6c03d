"""WFDB headers and signal files, with a fast path for single-signal format 16.

``wfdb.rdrecord`` only reads files, and extracting a 13,000-member zip just to
read it back is slow and leaves litter. So the corpus hands the *bytes* of the
``.hea`` and the signal file to one small parser (:func:`parse_record`) for the
one format the PhysioNet 2017 challenge uses: a single signal in WFDB format 16
(little-endian int16) with a byte offset — the ``.mat`` files are MATLAB v4
matrices whose 20+namelen byte header is exactly that offset, and we check the
MATLAB header against the WFDB header too. Zip and folder therefore give
identical records by construction, and the parser is checked against
``wfdb.rdrecord`` in the tests. Other formats are read by ``wfdb`` itself
(:meth:`dacl.corpus.reader.Corpus.read`); :func:`signal_bytes` bounds how much
of their signal file is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from dacl.corpus.records import RecordError
from dacl.corpus.sources import is_plain_file_name
from dacl.io.documents import excerpt

#: WFDB format 16 marks a missing sample with the most negative int16.
_INVALID_INT16 = -32768
#: MATLAB v4 type code for a little-endian int16 real matrix (M=0, O=0, P=3, T=0).
_MAT4_INT16_LE = 30
#: Largest ``.hea`` read: a single-signal header is a few lines (comments included).
MAX_HEADER_BYTES = 1 << 20
#: Bits per sample of the WFDB formats read through ``wfdb`` (FLAC 5xx: the uncompressed size).
FORMAT_BITS: dict[str, float] = {
    "8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 32 / 3, "311": 32 / 3,
    "508": 8, "516": 16, "524": 24,
}
#: Slack on a signal file's size for the ``wfdb`` formats (bit packing, FLAC frame headers).
_SIGNAL_SLACK_BYTES = 64 << 10


@dataclass(frozen=True)
class Header:
    """What a single-signal WFDB header declares."""

    name: str
    fs: float
    n_samples: int
    file_name: str
    fmt: str
    byte_offset: int
    gain: float
    baseline: int
    init_value: int | None
    checksum: int | None
    n_signals: int

    @property
    def is_mat(self) -> bool:
        """The signal file is a MATLAB v4 ``.mat`` (read as format 16 with its exact size)."""
        return self.file_name.lower().endswith(".mat")


def parse_header(name: str, text: str) -> Header:
    """Parse the record and (single) signal line of a WFDB header, and check what they declare."""
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise RecordError(name, "header (.hea) is empty")
    n_signals, fs, n_samples = _record_line(name, lines[0])
    if len(lines) < 2:
        raise RecordError(name, "header (.hea) is truncated: no signal line")
    signal = _signal_line(name, lines[1])
    _check_signal_file(name, signal["file_name"], signal["fmt"])
    return Header(name=name, fs=fs, n_samples=n_samples, n_signals=n_signals, **signal)


def _record_line(name: str, line: str) -> tuple[int, float, int]:
    """``(n_signals, fs, n_samples)`` of the record line, checked."""
    rec = line.split()
    if len(rec) < 4:
        raise RecordError(name, f"header record line '{excerpt(line)}' lacks the sample count")
    try:
        n_signals = int(rec[1].split("/")[0])
        fs = float(rec[2].split("/")[0].split("(")[0])
        n_samples = int(rec[3])
    except ValueError:
        raise RecordError(name, f"header record line '{excerpt(line)}' is not valid WFDB") from None
    if rec[0] != PurePosixPath(name).name:
        raise RecordError(name, f"header names record '{excerpt(rec[0])}'")
    if not (fs > 0 and np.isfinite(fs)):
        raise RecordError(name, f"header sampling frequency '{excerpt(rec[2])}' is not positive")
    if n_signals != 1:
        raise RecordError(name, f"has {n_signals} signals; only single-lead records are supported")
    if n_samples < 0:
        raise RecordError(name, f"header sample count {n_samples} is negative")
    return n_signals, fs, n_samples


def _signal_line(name: str, line: str) -> dict[str, object]:
    """The :class:`Header` fields of the signal line: file, format, offset, gain, baseline, ..."""
    sig = line.split()
    if len(sig) < 3:
        raise RecordError(name, f"header signal line '{excerpt(line)}' is truncated")
    fmt, _, offset = sig[1].partition("+")
    gain_str, _, _units = sig[2].partition("/")
    try:
        byte_offset = int(offset) if offset else 0
        baseline: int | None = None
        if "(" in gain_str:
            gain_str, base = gain_str.split("(", 1)
            baseline = int(base.rstrip(")"))
        gain = float(gain_str) or 200.0  # WFDB: a zero gain means the default, 200
        adc_zero = int(sig[4]) if len(sig) > 4 else 0
        init_value = int(sig[5]) if len(sig) > 5 else None
        checksum = int(sig[6]) if len(sig) > 6 else None
    except (ValueError, IndexError):
        raise RecordError(name, f"header signal line '{excerpt(line)}' is not valid WFDB") from None
    if byte_offset < 0:
        raise RecordError(name, f"header byte offset {byte_offset} is negative")
    if not math.isfinite(gain):
        raise RecordError(name, f"header gain '{excerpt(gain_str)}' is not a finite number")
    return {"file_name": sig[0], "fmt": fmt, "byte_offset": byte_offset, "gain": gain,
            "baseline": adc_zero if baseline is None else baseline, "init_value": init_value, "checksum": checksum}


def _check_signal_file(name: str, file_name: str, fmt: str) -> None:
    if not is_plain_file_name(file_name):
        raise RecordError(
            name, f"header names signal file '{excerpt(file_name)}' outside the record's folder; "
            "only a plain file name is read"
        )
    if file_name.lower().endswith(".mat") and fmt != "16":
        raise RecordError(
            name, f"signal file {file_name} is a MATLAB file, but the header declares WFDB format "
            f"{excerpt(fmt)}; a .mat file is read as format 16 only"
        )
    if fmt != "16" and fmt not in FORMAT_BITS:
        raise RecordError(name, f"WFDB format {excerpt(fmt)} is not supported")


def signal_bytes(header: Header) -> int:
    """Most bytes the signal file may hold that matter (format 16: exactly its declared matrix)."""
    if header.fmt == "16":
        return header.byte_offset + 2 * header.n_samples
    bits = FORMAT_BITS[header.fmt]
    return header.byte_offset + math.ceil(header.n_samples * bits / 8) + _SIGNAL_SLACK_BYTES


def _check_mat_header(header: Header, data: bytes) -> None:
    """The MATLAB v4 header (type, rows, cols, imagf, namelen as int32 LE) must be the matrix declared."""
    name = header.name
    if len(data) < 20:
        raise RecordError(name, f"signal file {header.file_name} is truncated ({len(data)} bytes)")
    mtype, rows, cols, imagf, namelen = np.frombuffer(data, dtype="<i4", count=5)
    if mtype != _MAT4_INT16_LE or imagf != 0 or 20 + namelen != header.byte_offset:
        raise RecordError(
            name, f"signal file {header.file_name} is not the MATLAB v4 int16 matrix its header declares"
        )
    if rows != 1 or cols != header.n_samples:
        raise RecordError(
            name,
            f"signal file {header.file_name} holds a {rows}x{cols} matrix, header declares 1x{header.n_samples}",
        )


def decode_format16(header: Header, data: bytes) -> np.ndarray:
    """Digital int16 samples of a format-16 signal file, validated against its header."""
    name = header.name
    if header.is_mat:
        _check_mat_header(header, data)
    need = header.byte_offset + 2 * header.n_samples
    if len(data) < need:
        raise RecordError(
            name,
            f"signal file {header.file_name} is truncated: {len(data)} bytes, "
            f"header declares {header.n_samples} samples ({need} bytes)",
        )
    if header.is_mat and len(data) != need:
        raise RecordError(
            name, f"signal file {header.file_name} has {len(data) - need} bytes beyond its declared matrix; corrupt"
        )
    digital = np.frombuffer(data, dtype="<i2", count=header.n_samples, offset=header.byte_offset)
    # The header's initial-value field is not checked: hundreds of the genuine
    # challenge headers disagree with their first sample (wfdb ignores it too).
    if header.checksum:  # PhysioNet 2017 headers write 0 (not computed); check it when present
        actual = (int(digital.sum(dtype=np.int64)) + 32768) % 65536 - 32768
        if actual != header.checksum:
            raise RecordError(name, f"signal file is corrupt: checksum {actual} != header checksum {header.checksum}")
    return digital


def physical(header: Header, data: bytes) -> np.ndarray:
    """The physical signal ``(digital - baseline) / gain`` of format-16 bytes; invalid samples are NaN."""
    digital = decode_format16(header, data)
    signal = (digital.astype(np.float64) - header.baseline) / header.gain
    signal[digital == _INVALID_INT16] = np.nan
    return signal


def parse_record(name: str, header_text: str, signal_file: bytes) -> tuple[np.ndarray, float]:
    """Decode a single-signal format-16 WFDB record from its header text and signal-file bytes.

    Returns ``(signal, fs)``: the physical signal ``(digital - baseline) / gain``
    in float64 (WFDB's "invalid sample" value becomes NaN, as in ``wfdb``).
    Raises :class:`RecordError` for anything malformed; does not check NaN or length.
    """
    header = parse_header(name, header_text)
    if header.fmt != "16":
        raise RecordError(name, f"WFDB format {header.fmt} is not handled by the fast reader")
    return physical(header, signal_file), header.fs
