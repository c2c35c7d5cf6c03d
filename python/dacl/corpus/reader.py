"""Read a PhysioNet-layout WFDB corpus, zipped or extracted.

The layout is PhysioNet/CinC 2017's ``training2017.zip``: a folder (``training2017/``)
holding single-lead WFDB records (``A00001.hea`` + ``A00001.mat``), a ``RECORDS``
list and a ``REFERENCE.csv`` (``record,label``). :func:`open_corpus` accepts the
zip itself, the extracted folder, or a folder with that folder inside.

How records are read: both sources (:mod:`dacl.corpus.sources`) hand the bytes
of the header and the signal file to the format-16 parser of
:mod:`dacl.corpus.wfdb`, so zip and folder give identical records. Any other
WFDB format (212, multi-file, ...) falls back to ``wfdb.rdrecord``: directly for
a folder, via a temporary directory holding just that record's files for a zip.

Errors
------
* a missing path: :class:`FileNotFoundError`;
* ``REFERENCE.csv`` that disagrees with the records: one :class:`ValueError`
  naming every disagreement (:func:`dacl.corpus.cinc2017.parse_reference`);
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
  exact size for a ``.mat``), a header :data:`~dacl.corpus.wfdb.MAX_HEADER_BYTES`,
  ``RECORDS`` and ``REFERENCE.csv`` :data:`~dacl.corpus.sources.MAX_LIST_BYTES`;
* reads stay inside the corpus folder: record names must be relative paths
  without ``.``/``..``/empty parts, a header's signal file must be a plain file
  name, and in a folder every file is resolved (symlinks included) and refused
  if it lies outside the corpus root;
* a message quotes file content only as a short, sanitised excerpt
  (:func:`dacl.io.documents.excerpt`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np

from dacl.corpus.cinc2017 import CLASSES, parse_reference
from dacl.corpus.records import Record, RecordError, RecordInfo, file_sha256, signal_sha256, validate_signal
from dacl.corpus.sources import (
    FolderSource,
    OutsideCorpus,
    Source,
    TooLarge,
    ZipSource,
    folder_root,
    name_problem,
    read_list,
    size_text,
)
from dacl.corpus.wfdb import MAX_HEADER_BYTES, Header, parse_header, physical, signal_bytes
from dacl.io.documents import excerpt, listing

#: The lead of a single-lead CinC 2017 record: its headers name none; AliveCor's KardiaMobile
#: records a lead-I-like signal between the two hands.
SINGLE_LEAD: tuple[str, ...] = ("I",)


class Corpus:
    """A WFDB corpus: the record list, labels, and thread-safe record reading.

    Use :func:`open_corpus` to make one. ``names`` keeps the order of
    ``RECORDS`` (or of the sorted ``*.hea`` listing when there is none).
    """

    #: The layout this reader knows, and why it is the one (the multi-layout corpus work replaces both).
    layout = "cinc2017"
    layout_reason = "the PhysioNet/CinC 2017 reader (REFERENCE.csv labels, single-lead records)"

    def __init__(
        self, source: Source, names: list[str], labels: dict[str, str] | None, fingerprint: dict[str, str]
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

    @property
    def vocabulary(self) -> tuple[str, ...] | None:
        """The label codes records can carry, in the order of integer labels (``None`` without labels)."""
        return None if self.labels is None else CLASSES

    @property
    def task(self) -> str:
        return "none" if self.labels is None else "single-label"

    def info(self, name: str) -> RecordInfo:
        """What the header of record ``name`` declares (its signal is not read)."""
        header = parse_header(name, self._header_text(name))
        return RecordInfo(name, header.n_samples, header.fs, SINGLE_LEAD, ("mV",))

    def annotations(self, name: str) -> None:
        """CinC 2017 records carry no annotation files."""
        return None

    def read(self, name: str, min_samples: int = 1, sampfrom: int = 0, sampto: int | None = None) -> Record:
        """Read and validate one record (samples ``sampfrom:sampto`` of it); raises :class:`RecordError` naming it."""
        try:
            signal, fs = self._read_signal(name)
            signal = signal[sampfrom:sampto]
        except RecordError:
            raise
        except Exception as err:  # wfdb's own errors, a corrupt zip member, ...: name the record
            raise RecordError(name, f"unreadable ({type(err).__name__}: {excerpt(str(err), 160)})") from err
        signal = signal[None, :]  # one lead
        validate_signal(name, signal, fs, min_samples)
        label = self.label(name)
        return Record(name, signal, SINGLE_LEAD, fs, (label,) if label else (), signal_sha256(signal), start=sampfrom)

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

    def _header_text(self, name: str) -> str:
        hea = f"{name}.hea"
        if not self._source.exists(hea):
            raise RecordError(name, f"header file {hea} is missing")
        try:
            return self._read(name, hea, MAX_HEADER_BYTES).decode("ascii")
        except UnicodeDecodeError:
            raise RecordError(name, "header (.hea) is not ASCII text; corrupt") from None

    def _read_signal(self, name: str) -> tuple[np.ndarray, float]:
        text = self._header_text(name)
        header = parse_header(name, text)
        folder = str(PurePosixPath(name).parent)
        sig_rel = header.file_name if folder == "." else f"{folder}/{header.file_name}"
        if not self._source.exists(sig_rel):
            raise RecordError(name, f"signal file {header.file_name} is missing")
        if header.fmt == "16":
            # A .mat holds exactly its declared matrix; a .dat may hold more, which is not read.
            data = self._read(name, sig_rel, signal_bytes(header), prefix=not header.is_mat)
            return physical(header, data), header.fs
        return self._read_with_wfdb(name, text, header, sig_rel)

    def _read(self, name: str, rel: str, limit: int, prefix: bool = False) -> bytes:
        """A file of record ``name``; size and confinement failures become :class:`RecordError`."""
        try:
            return self._source.read(rel, limit, prefix)
        except TooLarge:
            what = "header (.hea)" if rel.endswith(".hea") else f"signal file {PurePosixPath(rel).name}"
            bound = "its header declares" if not rel.endswith(".hea") else "a WFDB header may be"
            raise RecordError(name, f"{what} is larger than {bound} ({size_text(limit)})") from None
        except OutsideCorpus as err:
            raise RecordError(name, str(err)) from None

    def _read_with_wfdb(self, name: str, header_text: str, header: Header, sig_rel: str) -> tuple[np.ndarray, float]:
        """Other WFDB formats: let wfdb read them (from a temp copy when zipped)."""
        import wfdb

        try:
            local = self._source.local_path(f"{name}.hea")
            if local is not None:
                self._source.local_path(sig_rel)  # confined too
        except OutsideCorpus as err:
            raise RecordError(name, str(err)) from None
        if local is not None:
            rec = wfdb.rdrecord(str(local.with_suffix("")))
        else:
            data = self._read(name, sig_rel, signal_bytes(header), prefix=True)
            with tempfile.TemporaryDirectory(prefix="dacl-wfdb-") as tmp:
                base = PurePosixPath(name).name
                Path(tmp, f"{base}.hea").write_text(header_text)
                Path(tmp, header.file_name).write_bytes(data)
                rec = wfdb.rdrecord(str(Path(tmp, base)))
        if rec.p_signal is None or rec.p_signal.ndim != 2 or rec.p_signal.shape[1] != 1:
            raise RecordError(name, "only single-lead records are supported")
        return np.ascontiguousarray(rec.p_signal[:, 0], dtype=np.float64), float(rec.fs)


def _read_names(source: Source) -> tuple[list[str], str | None]:
    """The record names (from ``RECORDS``, else the ``*.hea`` listing) and RECORDS' SHA-256."""
    if not source.exists("RECORDS"):
        names = [h[: -len(".hea")] for h in source.list_headers()]
        for name in names:
            problem = name_problem(name)
            if problem:
                raise ValueError(f"{source.description}: header file of record '{excerpt(name)}': the name {problem}")
        return names, None
    text, digest = read_list(source, "RECORDS")
    names = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        problem = name_problem(name) if name else None
        if problem:
            raise ValueError(f"{source.description}: RECORDS line {lineno}: record name '{excerpt(name)}' {problem}")
        if name:
            names.append(name)
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise ValueError(f"RECORDS lists {len(dups)} records more than once: {listing(dups)}")
    return names, digest


def _open_source(path: Path) -> tuple[Source, dict[str, str]]:
    """The source for a corpus folder or zip, and the fingerprint entries known up front."""
    if path.is_dir():
        return FolderSource(folder_root(path)), {}
    if zipfile.is_zipfile(path):
        return ZipSource(path), {"zip_sha256": file_sha256(path)}
    raise ValueError(f"{path}: neither a folder nor a zip archive")


def open_corpus(path: str | os.PathLike[str], partial_labels: bool = False) -> Corpus:
    """Open a corpus from a ``.zip`` or a folder (see the module docstring).

    Reads ``RECORDS`` (or lists ``*.hea``) and checks ``REFERENCE.csv`` when
    present; records themselves are read lazily by :meth:`Corpus.read`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus not found: {path}")
    source, fingerprint = _open_source(path)
    names, records_sha = _read_names(source)
    if not names:
        raise ValueError(f"{source.description}: the corpus lists no records")
    if records_sha:
        fingerprint["records_sha256"] = records_sha
    labels = None
    if source.exists("REFERENCE.csv"):
        text, fingerprint["reference_sha256"] = read_list(source, "REFERENCE.csv")
        labels = parse_reference(text, names, partial_labels)
    fingerprint["names_sha256"] = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return Corpus(source, names, labels, fingerprint)
