"""Byte access to a corpus, zipped or extracted: bounded, and confined to the corpus root.

A corpus may come from anyone, so nothing is inflated or read beyond the
limit its caller gives (a zip member's declared size is checked before it is
opened, and at most one byte more than allowed is read), and reads stay
inside the corpus folder: a folder source resolves every file (symlinks
included) and refuses one that lies outside the root; names read from the
corpus itself must be plain relative paths (:func:`name_problem`).

Both sources answer the same questions (:class:`Source`): does a file exist,
how large is it, its bytes up to a limit, a seekable reader for ranges of it
(what the WFDB reader needs), and which files lie below the root. A range of a
deflated zip member is reached by decompressing and discarding the bytes before
it in 256 KiB blocks, so memory stays bounded however far into the member it is.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import weakref
import zipfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import Protocol

from dacl.io.documents import excerpt

#: Largest ``RECORDS`` / ``REFERENCE.csv`` / labels CSV read: two million records at eight bytes a line.
MAX_LIST_BYTES = 16 << 20
#: Largest record table of a layout (MIMIC-IV-ECG's ``record_list.csv``: 800,000 rows of about 90 bytes).
MAX_TABLE_BYTES = 256 << 20
#: Longest record name (a relative path) accepted from ``RECORDS`` or a header listing.
MAX_NAME_CHARS = 200
#: Deepest folder a record may lie in below the corpus root (CinC 2021: ``training/georgia/g1/E00001``).
MAX_DEPTH = 8
#: A zip member is skipped through (and copied) in blocks of this size, so memory stays bounded.
SKIP_BLOCK = 1 << 18


class TooLarge(ValueError):
    """A file holds more bytes than it may."""

    def __init__(self, rel: str, limit: int) -> None:
        super().__init__(f"{rel} is larger than {size_text(limit)}")
        self.rel, self.limit = rel, limit


class OutsideCorpus(ValueError):
    """A path that resolves outside the corpus root."""

    def __init__(self, rel: str) -> None:
        super().__init__(f"{excerpt(rel, 80)} resolves outside the corpus folder; not read")


def size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n} bytes"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a record name (a relative path inside the corpus), or ``None``."""
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    if not name.isprintable():
        return "contains control characters"
    if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        return "must be a relative path inside the corpus folder (no absolute, '.', '..' or empty parts)"
    return None


def _checked_rel(rel: str) -> str:
    """``rel`` itself if it is a relative path inside the corpus (no absolute, ``.``, ``..`` or empty
    parts, no backslash), else a ``ValueError``."""
    if rel.startswith("/") or "\\" in rel or any(part in ("", ".", "..") for part in rel.split("/")):
        raise ValueError(f"'{excerpt(rel, 80)}' is not a path inside the corpus")
    return rel


class SeekableReader(Protocol):
    """What :meth:`Source.open` gives: a binary file positioned by absolute ``seek``."""

    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


class Source:
    """Files addressed by POSIX paths relative to the corpus root (a folder, or a zip member prefix)."""

    description: str

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a file of the corpus."""
        raise NotImplementedError

    def size(self, rel: str) -> int:
        """Size in bytes (a zip member's declared size); :class:`FileNotFoundError` if there is no such file."""
        raise NotImplementedError

    def open(self, rel: str) -> SeekableReader:
        """A reader for ``rel``; :class:`FileNotFoundError` if there is no such file."""
        raise NotImplementedError

    def is_folder(self, rel: str) -> bool:
        """Whether ``rel`` is a folder of the corpus holding at least one file."""
        raise NotImplementedError

    def files(self, suffix: str) -> list[str]:
        """Every file below the root whose name ends with ``suffix``, at most :data:`MAX_DEPTH` folders
        down (hidden files and folders, macOS's ``__MACOSX`` copies and folder symlinks skipped), sorted."""
        raise NotImplementedError

    def local_path(self, rel: str) -> Path | None:
        """A path on disk for ``rel`` (confined), or ``None`` when the corpus is not a folder."""
        return None

    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        """The file's bytes; :class:`TooLarge` beyond ``limit`` (checked on the declared size first, and
        at most ``limit + 1`` bytes are read), or with ``prefix`` its first ``limit`` bytes."""
        size = self.size(rel)
        if not prefix and size > limit:
            raise TooLarge(rel, limit)
        fh = self.open(rel)
        try:
            data = fh.read(min(limit if prefix else limit + 1, size + 1))  # a huge count would be allocated
        finally:
            fh.close()
        if len(data) > limit:
            raise TooLarge(rel, limit)
        return data

    def close(self) -> None:
        """Release what the source holds open."""

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FolderSource(Source):
    """Files under a folder on disk; every file is resolved and must lie inside the folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.real_root = self.root.resolve()
        self.description = str(self.root)

    def _resolve(self, rel: str) -> Path:
        """The real path of ``rel``; :class:`OutsideCorpus` if it (or a symlink on the way) leaves the root."""
        real = (self.root / _checked_rel(rel)).resolve()
        if not real.is_relative_to(self.real_root):
            raise OutsideCorpus(rel)
        return real

    def exists(self, rel: str) -> bool:
        return (self.root / _checked_rel(rel)).is_file()

    def size(self, rel: str) -> int:
        path = self._resolve(rel)
        if not path.is_file():
            raise FileNotFoundError(f"no file {self.root / rel}")
        return path.stat().st_size

    def open(self, rel: str) -> SeekableReader:
        path = self._resolve(rel)
        if not path.is_file():
            raise FileNotFoundError(f"no file {self.root / rel}")
        return open(path, "rb")

    def is_folder(self, rel: str) -> bool:
        path = self.root / _checked_rel(rel)
        return path.is_dir() and not path.is_symlink() and any(path.iterdir())

    def files(self, suffix: str) -> list[str]:
        found = []
        for folder, dirs, names in os.walk(self.root):  # folder symlinks are not followed
            depth = len(Path(folder).relative_to(self.root).parts)
            dirs[:] = [d for d in dirs if not _hidden(d)] if depth < MAX_DEPTH else []
            rel_folder = Path(folder).relative_to(self.root).as_posix()
            found += [
                n if rel_folder == "." else f"{rel_folder}/{n}"
                for n in names
                if n.endswith(suffix) and not n.startswith(".")
            ]
        return sorted(found)

    def local_path(self, rel: str) -> Path | None:
        self._resolve(rel)  # confined; the path itself, so wfdb finds the files beside it
        return self.root / _checked_rel(rel)


class ZipSource(Source):
    """Members of a zip below ``prefix`` (found by :func:`zip_root` when not given); owns the zip if given a path."""

    def __init__(self, archive: zipfile.ZipFile | str | os.PathLike[str], prefix: str | None = None) -> None:
        self._owned = not isinstance(archive, zipfile.ZipFile)
        self.zip = archive if isinstance(archive, zipfile.ZipFile) else zipfile.ZipFile(archive)
        self.path = Path(str(self.zip.filename))
        infos = [info for info in self.zip.infolist() if not info.is_dir() and not _hidden(info.filename)]
        if prefix is None:
            prefix = zip_root([info.filename for info in infos], self.path)
        self.prefix = prefix
        self.members = {info.filename[len(prefix) :]: info for info in infos if info.filename.startswith(prefix)}
        self.description = f"{self.path}!{prefix or '/'}"
        self._lock = threading.Lock()
        # Close the zip we opened when this source is collected, even inside a reference cycle (a
        # caught exception's traceback), before the file object would warn that it was left open.
        self._finalizer = weakref.finalize(self, self.zip.close) if self._owned else None

    def _info(self, rel: str) -> zipfile.ZipInfo:
        info = self.members.get(_checked_rel(rel))
        if info is None:
            raise FileNotFoundError(f"no member {rel} in {self.path}")
        return info

    def exists(self, rel: str) -> bool:
        return _checked_rel(rel) in self.members

    def size(self, rel: str) -> int:
        return self._info(rel).file_size

    def open(self, rel: str) -> SeekableReader:
        return _ZipMemberReader(self.zip, self._info(rel), self._lock, self.path)

    def is_folder(self, rel: str) -> bool:
        prefix = _checked_rel(rel) + "/"
        return any(member.startswith(prefix) for member in self.members)

    def files(self, suffix: str) -> list[str]:
        return sorted(rel for rel in self.members if rel.endswith(suffix) and rel.count("/") <= MAX_DEPTH)

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


class _ZipMemberReader:
    """A zip member with absolute seeks that never hold more than 256 KiB of skipped data.

    ``ZipExtFile.seek`` skips forward in 16 MiB reads (and, before Python 3.12,
    does so for stored members too); we skip in smaller blocks, and let 3.12+
    seek a stored member directly. A corrupt member is a :class:`zipfile.BadZipFile`
    naming it; an encrypted one or one in an unsupported compression a ``ValueError``.
    """

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, lock: threading.Lock, path: Path) -> None:
        self._zip, self._info, self._lock, self._path = archive, info, lock, path
        self._direct_seek = info.compress_type == zipfile.ZIP_STORED and sys.version_info >= (3, 12)
        self._open()

    def _open(self) -> None:
        try:
            with self._lock:  # ZipFile.open's bookkeeping is not safe across threads
                self._fh = self._zip.open(self._info)
        except (NotImplementedError, RuntimeError) as err:  # unsupported compression, encryption
            raise ValueError(
                f"{self._path}: cannot read member {excerpt(self._info.filename, 120)} ({excerpt(str(err), 80)})"
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise self._corrupt(err) from None
        self._pos = 0

    def _corrupt(self, err: Exception) -> zipfile.BadZipFile:
        return zipfile.BadZipFile(
            f"{self._path}: member {excerpt(self._info.filename, 120)} is corrupt ({excerpt(str(err), 80)})"
        )

    def seek(self, offset: int, whence: int = 0, /) -> int:
        if whence != 0:
            raise ValueError("only absolute seeks are supported")
        if offset < self._pos:
            self._fh.close()
            self._open()
        if self._direct_seek:
            self._pos = self._fh.seek(offset)
        while self._pos < offset:
            skipped = len(self.read(min(SKIP_BLOCK, offset - self._pos)))
            if not skipped:
                break
        return self._pos

    def read(self, size: int = -1, /) -> bytes:
        try:
            data = self._fh.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise self._corrupt(err) from None
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._fh.close()


#: Files that mark the root of a corpus (one of the layouts' own lists, or PhysioNet's ``RECORDS``).
ROOT_MARKERS = ("RECORDS", "REFERENCE.csv", "ptbxl_database.csv", "record_list.csv")


def zip_root(names: list[str], path: Path) -> str:
    """The member prefix of the corpus folder: the deepest folder holding every ``.hea`` member, or the
    deepest folder above it that holds a root marker (:data:`ROOT_MARKERS`: PTB-XL keeps its headers in
    ``records500/``, its tables above); without headers, the shallowest marker's folder."""
    markers = sorted(
        {n[: n.rfind("/") + 1] for n in names if n.rsplit("/", 1)[-1] in ROOT_MARKERS},
        key=lambda folder: (folder.count("/"), folder),
    )
    folders = [n.split("/")[:-1] for n in names if n.endswith(".hea")]
    if not folders:
        if markers:
            return markers[0]
        raise ValueError(f"{path}: zip holds no RECORDS file and no .hea headers; not a WFDB corpus")
    common = "".join(f"{part}/" for part in os.path.commonprefix(folders))
    above = [folder for folder in markers if common.startswith(folder)]
    return above[-1] if above else common


def _hidden(member: str) -> bool:
    """A member no corpus holds: macOS's ``__MACOSX/`` copies and ``._`` files, hidden files and folders."""
    return any(part.startswith(".") or part == "__MACOSX" for part in member.split("/"))


def _holds_corpus(folder: Path) -> bool:
    return any((folder / m).is_file() for m in ROOT_MARKERS) or any(folder.glob("*.hea"))


def folder_root(path: Path) -> Path:
    """``path`` itself if it holds the corpus (a root marker or headers), else its single subfolder
    that does; otherwise ``path`` itself when headers lie deeper (nested sub-databases, several
    folders of records: their records are named by their path below ``path``)."""
    if _holds_corpus(path):
        return path
    inner = [p for p in sorted(path.iterdir()) if p.is_dir() and _holds_corpus(p)]
    if len(inner) == 1:
        return inner[0]
    if FolderSource(path).files(".hea"):  # several corpus folders (CinC's g1, g2, ...), or headers deeper
        return path
    raise ValueError(f"{path}: no RECORDS file and no .hea headers here or in its subfolders; not a WFDB corpus")


def read_list(source: Source, rel: str, limit: int = MAX_LIST_BYTES) -> tuple[str, str]:
    """A list file (``RECORDS``, ``REFERENCE.csv``, a layout's table) as text (UTF-8, a BOM dropped),
    and its SHA-256."""
    try:
        raw = source.read(rel, limit)
    except (TooLarge, OutsideCorpus) as err:
        raise ValueError(f"{source.description}: {err}") from None
    return decode_list(raw, f"{source.description}: {rel}"), hashlib.sha256(raw).hexdigest()


def copy_file(source: Source, rel: str, dest: Path, limit: int) -> None:
    """Copy ``rel`` to ``dest`` in blocks; :class:`TooLarge` (before copying anything when the declared
    size says so) if it holds more than ``limit`` bytes."""
    if source.size(rel) > limit:
        raise TooLarge(rel, limit)
    fh = source.open(rel)
    try:
        with open(dest, "wb") as out:
            while block := fh.read(min(SKIP_BLOCK, limit + 1 - out.tell())):
                out.write(block)
                if out.tell() > limit:
                    raise TooLarge(rel, limit)
    finally:
        fh.close()


def decode_list(raw: bytes, what: str) -> str:
    """UTF-8 text (a BOM dropped) of a list file's bytes; a ``ValueError`` naming ``what`` otherwise."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} is not UTF-8 text (byte {raw[err.start]:#04x} at offset {err.start})") from None
