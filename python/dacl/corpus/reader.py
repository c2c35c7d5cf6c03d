"""Read a PhysioNet-layout WFDB corpus, zipped or extracted.

The layout is PhysioNet/CinC 2017's ``training2017.zip``: a folder (``training2017/``)
holding single-lead WFDB records (``A00001.hea`` + ``A00001.mat``), a ``RECORDS``
list and a ``REFERENCE.csv`` (``record,label``). :func:`open_corpus` accepts the
zip itself, the extracted folder, or a folder with that folder inside.

How records are read, and why
-----------------------------
``wfdb.rdrecord`` only reads files, and extracting a 13,000-member zip just to
read it back is slow and leaves litter. So both sources hand the *bytes* of the
``.hea`` and the signal file to one small parser (:func:`parse_record`) for the
one format the challenge uses: a single signal in WFDB format 16 (little-endian
int16) with a byte offset — the ``.mat`` files are MATLAB v4 matrices whose
20+namelen byte header is exactly that offset, and we check the MATLAB header
against the WFDB header too. Zip and folder therefore give identical records by
construction, and the parser is checked against ``wfdb.rdrecord`` in the tests.
Any other WFDB format (212, multi-file, ...) falls back to ``wfdb.rdrecord``:
directly for a folder, via a temporary directory holding just that record's
files for a zip.

Errors
------
* a missing path: :class:`FileNotFoundError`;
* ``REFERENCE.csv`` that disagrees with the records (labels for absent records,
  records without a label, unknown label letters, duplicated rows): one
  :class:`ValueError` naming them all. ``partial_labels=True`` is the explicit
  opt-out for the first two (absent records' labels are ignored, unlabelled
  records get ``label=None``); unknown letters and duplicates always fail;
* a bad record (listed but missing files, corrupt header or signal file, NaN/inf
  or WFDB "invalid sample" values, empty or too short): :class:`RecordError`
  (a ``ValueError``) naming the record and the problem. :meth:`Corpus.read_many`
  returns these instead of raising, so a caller can report and skip them;
* ``RECORDS`` or ``REFERENCE.csv`` that is not UTF-8 text, too large, or lists a
  record name that is not a plain relative path: :class:`ValueError` naming the
  file (and line); a corrupt zip member: :class:`zipfile.BadZipFile` naming it.

Untrusted input
---------------
A corpus may come from anyone, so reading it is bounded and confined:

* nothing is inflated or read beyond what it should hold: a signal file at most
  the size its header declares (format 16: ``offset + 2 * samples`` bytes, the
  exact size for a ``.mat``), a header :data:`MAX_HEADER_BYTES`, ``RECORDS`` and
  ``REFERENCE.csv`` :data:`MAX_LIST_BYTES`; a zip member's declared size is
  checked before it is opened, and at most one byte more than allowed is read;
* reads stay inside the corpus folder: record names must be relative paths
  without ``.``/``..``/empty parts, a header's signal file must be a plain file
  name, and in a folder every file is resolved (symlinks included) and refused
  if it lies outside the corpus root;
* a message quotes file content only as a short, sanitised :func:`excerpt`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import tempfile
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from dacl.dataset import CLASSES
from dacl.io.documents import excerpt

#: WFDB format 16 marks a missing sample with the most negative int16.
_INVALID_INT16 = -32768

#: MATLAB v4 type code for a little-endian int16 real matrix (M=0, O=0, P=3, T=0).
_MAT4_INT16_LE = 30

#: Largest ``.hea`` read: a single-signal header is a few lines (comments included).
MAX_HEADER_BYTES = 1 << 20
#: Largest ``RECORDS`` / ``REFERENCE.csv`` read: two million records at eight bytes a line.
MAX_LIST_BYTES = 16 << 20
#: Longest record name (a relative path) accepted from ``RECORDS`` or a header listing.
MAX_NAME_CHARS = 200
#: Longest problem text of a :class:`RecordError` (it lands in records.csv and the manifest).
MAX_PROBLEM_CHARS = 300

#: Bits per sample of the WFDB formats read through ``wfdb`` (FLAC 5xx: the uncompressed size).
_FORMAT_BITS: dict[str, float] = {
    "8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 32 / 3, "311": 32 / 3,
    "508": 8, "516": 16, "524": 24,
}
#: Slack on a signal file's size for the ``wfdb`` formats (bit packing, FLAC frame headers).
_SIGNAL_SLACK_BYTES = 64 << 10


class RecordError(ValueError):
    """A record that cannot be used; ``str(err)`` names the record and the problem."""

    def __init__(self, name: str, problem: str) -> None:
        if len(problem) > MAX_PROBLEM_CHARS:
            problem = problem[: MAX_PROBLEM_CHARS - 3] + "..."
        super().__init__(f"record {name}: {problem}")
        self.name = name
        self.problem = problem


class _TooLarge(ValueError):
    """A file holds more bytes than it may."""

    def __init__(self, rel: str, limit: int) -> None:
        super().__init__(f"{rel} is larger than {_size_text(limit)}")
        self.rel, self.limit = rel, limit


class _OutsideCorpus(ValueError):
    """A path that resolves outside the corpus root."""

    def __init__(self, rel: str) -> None:
        super().__init__(f"{excerpt(rel, 80)} resolves outside the corpus folder; not read")


def _size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n} bytes"


@dataclass(frozen=True)
class Record:
    """One single-lead record.

    Attributes:
        name: record name as listed in ``RECORDS`` (e.g. ``"A00001"``).
        signal: ``(n,)`` float64 physical signal (mV for the challenge data).
        fs: sampling frequency in Hz.
        label: class letter from ``REFERENCE.csv`` or ``None``.
        sha256: hex SHA-256 of ``signal`` as little-endian float64 bytes, so
            byte-identical recordings share a digest whatever the file format.
    """

    name: str
    signal: np.ndarray
    fs: float
    label: str | None
    sha256: str


def signal_sha256(signal: np.ndarray) -> str:
    """SHA-256 of a signal's little-endian float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(signal, dtype="<f8").tobytes()).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class _Header:
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


def _parse_header(name: str, text: str) -> _Header:
    """Parse the record and (single) signal line of a WFDB header, and check what they declare."""
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise RecordError(name, "header (.hea) is empty")
    rec = lines[0].split()
    if len(rec) < 4:
        raise RecordError(name, f"header record line '{excerpt(lines[0])}' lacks the sample count")
    try:
        n_signals = int(rec[1].split("/")[0])
        fs = float(rec[2].split("/")[0].split("(")[0])
        n_samples = int(rec[3])
    except ValueError:
        raise RecordError(name, f"header record line '{excerpt(lines[0])}' is not valid WFDB") from None
    if rec[0] != PurePosixPath(name).name:
        raise RecordError(name, f"header names record '{excerpt(rec[0])}'")
    if not (fs > 0 and np.isfinite(fs)):
        raise RecordError(name, f"header sampling frequency '{excerpt(rec[2])}' is not positive")
    if n_signals != 1:
        raise RecordError(name, f"has {n_signals} signals; only single-lead records are supported")
    if n_samples < 0:
        raise RecordError(name, f"header sample count {n_samples} is negative")
    if len(lines) < 2:
        raise RecordError(name, "header (.hea) is truncated: no signal line")
    sig = lines[1].split()
    if len(sig) < 3:
        raise RecordError(name, f"header signal line '{excerpt(lines[1])}' is truncated")
    fmt_field = sig[1]
    fmt, _, offset = fmt_field.partition("+")
    try:
        byte_offset = int(offset) if offset else 0
        gain_field = sig[2]
        gain_str, _, _units = gain_field.partition("/")
        baseline: int | None = None
        if "(" in gain_str:
            gain_str, base = gain_str.split("(", 1)
            baseline = int(base.rstrip(")"))
        gain = float(gain_str) or 200.0  # WFDB: a zero gain means the default, 200
        adc_zero = int(sig[4]) if len(sig) > 4 else 0
        init_value = int(sig[5]) if len(sig) > 5 else None
        checksum = int(sig[6]) if len(sig) > 6 else None
    except (ValueError, IndexError):
        raise RecordError(name, f"header signal line '{excerpt(lines[1])}' is not valid WFDB") from None
    if byte_offset < 0:
        raise RecordError(name, f"header byte offset {byte_offset} is negative")
    if not math.isfinite(gain):
        raise RecordError(name, f"header gain '{excerpt(gain_str)}' is not a finite number")
    file_name = sig[0]
    if not _is_plain_file_name(file_name):
        raise RecordError(
            name, f"header names signal file '{excerpt(file_name)}' outside the record's folder; "
            "only a plain file name is read"
        )
    if file_name.lower().endswith(".mat") and fmt != "16":
        raise RecordError(
            name, f"signal file {file_name} is a MATLAB file, but the header declares WFDB format "
            f"{excerpt(fmt)}; a .mat file is read as format 16 only"
        )
    if fmt != "16" and fmt not in _FORMAT_BITS:
        raise RecordError(name, f"WFDB format {excerpt(fmt)} is not supported")
    return _Header(
        name=name,
        fs=fs,
        n_samples=n_samples,
        file_name=file_name,
        fmt=fmt,
        byte_offset=byte_offset,
        gain=gain,
        baseline=adc_zero if baseline is None else baseline,
        init_value=init_value,
        checksum=checksum,
        n_signals=n_signals,
    )


def _is_plain_file_name(file_name: str) -> bool:
    return (
        0 < len(file_name) <= MAX_NAME_CHARS and file_name.isprintable()
        and "/" not in file_name and "\\" not in file_name and file_name not in (".", "..")
    )


def _signal_bytes(header: _Header) -> int:
    """Most bytes the signal file may hold that matter (format 16: exactly its declared matrix)."""
    if header.fmt == "16":
        return header.byte_offset + 2 * header.n_samples
    bits = _FORMAT_BITS[header.fmt]
    return header.byte_offset + math.ceil(header.n_samples * bits / 8) + _SIGNAL_SLACK_BYTES


def _decode_format16(header: _Header, data: bytes) -> np.ndarray:
    """Digital int16 samples of a format-16 signal file, validated against its header."""
    name = header.name
    if header.file_name.lower().endswith(".mat"):
        # MATLAB v4 header: type, rows, cols, imagf, namelen (int32 LE), then the name.
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
                f"signal file {header.file_name} holds a {rows}x{cols} matrix, "
                f"header declares 1x{header.n_samples}",
            )
    need = header.byte_offset + 2 * header.n_samples
    if len(data) < need:
        raise RecordError(
            name,
            f"signal file {header.file_name} is truncated: {len(data)} bytes, "
            f"header declares {header.n_samples} samples ({need} bytes)",
        )
    if header.file_name.lower().endswith(".mat") and len(data) != need:
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


def _validate_signal(name: str, signal: np.ndarray, fs: float, min_samples: int) -> None:
    if signal.size == 0:
        raise RecordError(name, "signal is empty")
    bad = ~np.isfinite(signal)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kind = "NaN (missing samples)" if np.isnan(signal[first]) else "inf"
        raise RecordError(name, f"signal contains {int(bad.sum())} non-finite values ({kind}, first at sample {first})")
    if signal.size < min_samples:
        raise RecordError(
            name, f"signal is too short: {signal.size} samples ({signal.size / fs:.2f} s), need at least {min_samples}"
        )


def parse_record(name: str, header_text: str, signal_bytes: bytes) -> tuple[np.ndarray, float]:
    """Decode a single-signal format-16 WFDB record from its header text and signal-file bytes.

    Returns ``(signal, fs)``: the physical signal ``(digital - baseline) / gain``
    in float64 (WFDB's "invalid sample" value becomes NaN, as in ``wfdb``).
    Raises :class:`RecordError` for anything malformed; does not check NaN or length.
    """
    header = _parse_header(name, header_text)
    if header.fmt != "16":
        raise RecordError(name, f"WFDB format {header.fmt} is not handled by the fast reader")
    return _physical(header, signal_bytes), header.fs


def _physical(header: _Header, signal_bytes: bytes) -> np.ndarray:
    digital = _decode_format16(header, signal_bytes)
    signal = (digital.astype(np.float64) - header.baseline) / header.gain
    signal[digital == _INVALID_INT16] = np.nan
    return signal


# ------------------------------------------------------------------ sources


class _Source:
    """Byte access to files relative to the corpus root (folder or zip member prefix)."""

    description: str

    def exists(self, rel: str) -> bool: ...
    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        """The file's bytes; :class:`_TooLarge` beyond ``limit`` (checked on the declared size
        first, and at most ``limit + 1`` bytes are read), or with ``prefix`` its first ``limit``."""
        ...
    def list_headers(self) -> list[str]: ...
    def local_path(self, rel: str) -> Path | None:
        return None


class _FolderSource(_Source):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.description = str(root)

    def _resolve(self, rel: str) -> Path:
        """The real path of ``rel``; :class:`_OutsideCorpus` if it (or a symlink on the way) leaves the root."""
        real = (self.root / rel).resolve()
        if not real.is_relative_to(self.real_root):
            raise _OutsideCorpus(rel)
        return real

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        path = self._resolve(rel)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if not prefix and size > limit:
                raise _TooLarge(rel, limit)
            data = f.read(min(limit if prefix else limit + 1, size + 1))  # a huge count would be allocated
        if len(data) > limit:
            raise _TooLarge(rel, limit)
        return data

    def list_headers(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("*.hea"))

    def local_path(self, rel: str) -> Path | None:
        self._resolve(rel)  # confined; the path itself, so wfdb finds the signal file beside it
        return self.root / rel


class _ZipSource(_Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path)
        names = [n for n in self.zip.namelist() if not n.endswith("/")]
        self.prefix = _zip_root(names, path)
        self.members = {n[len(self.prefix) :]: n for n in names if n.startswith(self.prefix)}
        self.description = f"{path}!{self.prefix or '/'}"
        self._lock = threading.Lock()

    def exists(self, rel: str) -> bool:
        return rel in self.members

    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        info = self.zip.getinfo(self.members[rel])
        if not prefix and info.file_size > limit:  # declared size: refused before inflating anything
            raise _TooLarge(rel, limit)
        try:
            # ZipFile serialises seeks on the shared file itself; the lock only
            # guards our open() bookkeeping across reader threads.
            with self._lock:
                handle = self.zip.open(info)
            with handle:
                data = handle.read(min(limit if prefix else limit + 1, info.file_size + 1))
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise zipfile.BadZipFile(f"{self.path}: member {excerpt(info.filename, 120)} is corrupt "
                                     f"({excerpt(str(err), 80)})") from None
        except (NotImplementedError, RuntimeError) as err:  # unsupported compression, encryption
            raise ValueError(f"{self.path}: cannot read member {excerpt(info.filename, 120)} "
                             f"({excerpt(str(err), 80)})") from None
        if len(data) > limit:
            raise _TooLarge(rel, limit)
        return data

    def list_headers(self) -> list[str]:
        return sorted(r for r in self.members if r.endswith(".hea") and "/" not in r)


def _zip_root(names: list[str], path: Path) -> str:
    """The member prefix of the corpus folder: where ``RECORDS`` (else the first ``.hea``) lives."""
    records = [n for n in names if n.rsplit("/", 1)[-1] == "RECORDS"]
    headers = [n for n in names if n.endswith(".hea")]
    for hits in (records, headers):
        if hits:
            shallowest = min(hits, key=lambda n: (n.count("/"), n))
            return shallowest[: shallowest.rfind("/") + 1]
    raise ValueError(f"{path}: zip holds no RECORDS file and no .hea headers; not a WFDB corpus")


def _folder_root(path: Path) -> Path:
    """``path`` itself if it holds the corpus, else its single subfolder that does."""
    if (path / "RECORDS").is_file() or any(path.glob("*.hea")):
        return path
    inner = [p for p in path.iterdir() if p.is_dir() and ((p / "RECORDS").is_file() or any(p.glob("*.hea")))]
    if len(inner) == 1:
        return inner[0]
    if not inner:
        raise ValueError(f"{path}: no RECORDS file and no .hea headers here or one level down; not a WFDB corpus")
    raise ValueError(f"{path}: several corpus folders inside ({', '.join(p.name for p in inner)}); pass one")


# ------------------------------------------------------------------ corpus


class Corpus:
    """A WFDB corpus: the record list, labels, and thread-safe record reading.

    Use :func:`open_corpus` to make one. ``names`` keeps the order of
    ``RECORDS`` (or of the sorted ``*.hea`` listing when there is none).
    """

    def __init__(
        self, source: _Source, names: list[str], labels: dict[str, str] | None, fingerprint: dict[str, str]
    ) -> None:
        self._source = source
        self.names = names
        self.labels = labels
        #: SHA-256 of the inputs that define the corpus (the zip, RECORDS, REFERENCE.csv).
        self.fingerprint = fingerprint

    def __repr__(self) -> str:
        return f"Corpus({self._source.description!r}, {len(self.names)} records)"

    def __len__(self) -> int:
        return len(self.names)

    def label(self, name: str) -> str | None:
        return None if self.labels is None else self.labels.get(name)

    def read(self, name: str, min_samples: int = 1) -> Record:
        """Read and validate one record; raises :class:`RecordError` naming it."""
        try:
            signal, fs = self._read_signal(name)
        except RecordError:
            raise
        except Exception as err:  # wfdb's own errors, a corrupt zip member, ...: name the record
            raise RecordError(name, f"unreadable ({type(err).__name__}: {excerpt(str(err), 160)})") from err
        _validate_signal(name, signal, fs, min_samples)
        return Record(name, signal, fs, self.label(name), signal_sha256(signal))

    def read_many(
        self, names: Sequence[str], min_samples: int = 1, threads: int = 4
    ) -> list[Record | RecordError]:
        """Read several records in parallel; bad ones come back as :class:`RecordError`."""

        def one(name: str) -> Record | RecordError:
            try:
                return self.read(name, min_samples)
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

    def _read_signal(self, name: str) -> tuple[np.ndarray, float]:
        src = self._source
        hea = f"{name}.hea"
        if not src.exists(hea):
            raise RecordError(name, f"header file {hea} is missing")
        try:
            text = self._read(name, hea, MAX_HEADER_BYTES).decode("ascii")
        except UnicodeDecodeError:
            raise RecordError(name, "header (.hea) is not ASCII text; corrupt") from None
        header = _parse_header(name, text)
        folder = str(PurePosixPath(name).parent)
        sig_rel = header.file_name if folder == "." else f"{folder}/{header.file_name}"
        if not src.exists(sig_rel):
            raise RecordError(name, f"signal file {header.file_name} is missing")
        if header.fmt == "16":
            # A .mat holds exactly its declared matrix; a .dat may hold more, which is not read.
            exact = header.file_name.lower().endswith(".mat")
            data = self._read(name, sig_rel, _signal_bytes(header), prefix=not exact)
            return _physical(header, data), header.fs
        return self._read_with_wfdb(name, text, header, sig_rel)

    def _read(self, name: str, rel: str, limit: int, prefix: bool = False) -> bytes:
        """A file of record ``name``; size and confinement failures become :class:`RecordError`."""
        try:
            return self._source.read(rel, limit, prefix)
        except _TooLarge:
            what = "header (.hea)" if rel.endswith(".hea") else f"signal file {PurePosixPath(rel).name}"
            bound = "its header declares" if not rel.endswith(".hea") else "a WFDB header may be"
            raise RecordError(name, f"{what} is larger than {bound} ({_size_text(limit)})") from None
        except _OutsideCorpus as err:
            raise RecordError(name, str(err)) from None

    def _read_with_wfdb(self, name: str, header_text: str, header: _Header, sig_rel: str) -> tuple[np.ndarray, float]:
        """Other WFDB formats: let wfdb read them (from a temp copy when zipped)."""
        import wfdb

        try:
            local = self._source.local_path(f"{name}.hea")
            if local is not None:
                self._source.local_path(sig_rel)  # confined too
        except _OutsideCorpus as err:
            raise RecordError(name, str(err)) from None
        if local is not None:
            rec = wfdb.rdrecord(str(local.with_suffix("")))
        else:
            data = self._read(name, sig_rel, _signal_bytes(header), prefix=True)
            with tempfile.TemporaryDirectory(prefix="dacl-wfdb-") as tmp:
                base = PurePosixPath(name).name
                Path(tmp, f"{base}.hea").write_text(header_text)
                Path(tmp, header.file_name).write_bytes(data)
                rec = wfdb.rdrecord(str(Path(tmp, base)))
        if rec.p_signal is None or rec.p_signal.ndim != 2 or rec.p_signal.shape[1] != 1:
            raise RecordError(name, "only single-lead records are supported")
        return np.ascontiguousarray(rec.p_signal[:, 0], dtype=np.float64), float(rec.fs)


def _read_list(source: _Source, rel: str) -> tuple[str, str]:
    """``RECORDS`` or ``REFERENCE.csv`` as text (UTF-8, a BOM dropped), and its SHA-256."""
    try:
        raw = source.read(rel, MAX_LIST_BYTES)
    except (_TooLarge, _OutsideCorpus) as err:
        raise ValueError(f"{source.description}: {err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{source.description}: {rel} is not UTF-8 text (byte {raw[err.start]:#04x} at offset "
                         f"{err.start})") from None
    return text, hashlib.sha256(raw).hexdigest()


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a record name, or ``None``."""
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    if not name.isprintable():
        return "contains control characters"
    if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        return "must be a relative path inside the corpus folder (no absolute, '.', '..' or empty parts)"
    return None


def _read_names(source: _Source) -> tuple[list[str], str | None]:
    if source.exists("RECORDS"):
        text, digest = _read_list(source, "RECORDS")
        names = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            name = line.strip()
            if not name:
                continue
            problem = _name_problem(name)
            if problem:
                raise ValueError(f"{source.description}: RECORDS line {lineno}: record name '{excerpt(name)}' {problem}")
            names.append(name)
        dups = sorted(n for n, count in Counter(names).items() if count > 1)
        if dups:
            raise ValueError(f"RECORDS lists {len(dups)} records more than once: {_some(dups)}")
        return names, digest
    names = [h[: -len(".hea")] for h in source.list_headers()]
    for name in names:
        problem = _name_problem(name)
        if problem:
            raise ValueError(f"{source.description}: header file of record '{excerpt(name)}': the name {problem}")
    return names, None


def _some(items: Sequence[str], k: int = 10) -> str:
    shown = ", ".join(items[:k])
    return shown + (f", ... ({len(items) - k} more)" if len(items) > k else "")


def parse_reference(
    text: str, names: Sequence[str], partial_labels: bool = False
) -> dict[str, str]:
    """Parse ``REFERENCE.csv`` (``record,label`` rows) and check it against the record list.

    Raises one :class:`ValueError` listing every disagreement (see the module
    docstring); with ``partial_labels=True`` labels for absent records are
    dropped and records without a label are allowed.
    """
    labels: dict[str, str] = {}
    problems: list[str] = []
    bad_lines: list[str] = []
    duplicated: list[str] = []
    unknown: list[str] = []
    try:
        for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                bad_lines.append(f"line {lineno} has {len(row)} fields")
                continue
            rec, label = row[0].strip(), row[1].strip()
            if rec in labels:
                duplicated.append(rec)
            if label not in CLASSES:
                unknown.append(f"{excerpt(rec)}='{excerpt(label, 10)}'")
            labels[rec] = label
    except csv.Error as err:
        raise ValueError(f"REFERENCE.csv is not a CSV of record,label rows ({excerpt(str(err), 80)})") from None
    if bad_lines:
        problems.append(f"expected 'record,label' rows: {_some(bad_lines, 3)}")
    present = set(names)
    extra = sorted(excerpt(r) for r in labels if r not in present)
    missing = [n for n in names if n not in labels]
    if duplicated:
        problems.append(f"duplicated rows for {_some(sorted({excerpt(d) for d in duplicated}))}")
    if unknown:
        problems.append(f"unknown labels (expected one of {'/'.join(CLASSES)}): {_some(unknown)}")
    if not partial_labels:
        if extra:
            problems.append(f"labels for {len(extra)} records not in the corpus: {_some(extra)}")
        if missing:
            problems.append(f"{len(missing)} records without a label: {_some(missing)}")
    if problems:
        hint = "" if partial_labels else " (partial_labels=True / --partial-labels accepts missing or extra rows)"
        raise ValueError("REFERENCE.csv disagrees with the records: " + "; ".join(problems) + hint)
    return {n: labels[n] for n in names if n in labels}


def open_corpus(path: str | os.PathLike[str], partial_labels: bool = False) -> Corpus:
    """Open a corpus from a ``.zip`` or a folder (see the module docstring).

    Reads ``RECORDS`` (or lists ``*.hea``) and checks ``REFERENCE.csv`` when
    present; records themselves are read lazily by :meth:`Corpus.read`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus not found: {path}")
    fingerprint: dict[str, str] = {}
    if path.is_dir():
        source: _Source = _FolderSource(_folder_root(path))
    elif zipfile.is_zipfile(path):
        source = _ZipSource(path)
        fingerprint["zip_sha256"] = file_sha256(path)
    else:
        raise ValueError(f"{path}: neither a folder nor a zip archive")
    names, records_sha = _read_names(source)
    if not names:
        raise ValueError(f"{source.description}: the corpus lists no records")
    if records_sha:
        fingerprint["records_sha256"] = records_sha
    labels = None
    if source.exists("REFERENCE.csv"):
        text, fingerprint["reference_sha256"] = _read_list(source, "REFERENCE.csv")
        labels = parse_reference(text, names, partial_labels)
    fingerprint["names_sha256"] = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return Corpus(source, names, labels, fingerprint)
