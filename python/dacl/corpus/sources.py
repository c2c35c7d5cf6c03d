"""Byte access to a corpus, zipped or extracted: bounded, and confined to the corpus root.

A corpus may come from anyone, so nothing is inflated or read beyond the
limit its caller gives (a zip member's declared size is checked before it is
opened, and at most one byte more than allowed is read), and reads stay
inside the corpus folder: a folder source resolves every file (symlinks
included) and refuses one that lies outside the root; names read from the
corpus itself must be plain relative paths (:func:`name_problem`).
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
import zlib
from pathlib import Path

from dacl.io.documents import excerpt

#: Largest ``RECORDS`` / ``REFERENCE.csv`` read: two million records at eight bytes a line.
MAX_LIST_BYTES = 16 << 20
#: Longest record name (a relative path) accepted from ``RECORDS`` or a header listing.
MAX_NAME_CHARS = 200


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


def is_plain_file_name(file_name: str) -> bool:
    """A file name without any folder part (what a header may name as its signal file)."""
    return (
        0 < len(file_name) <= MAX_NAME_CHARS and file_name.isprintable()
        and "/" not in file_name and "\\" not in file_name and file_name not in (".", "..")
    )


class Source:
    """Byte access to files relative to the corpus root (folder or zip member prefix)."""

    description: str

    def exists(self, rel: str) -> bool: ...
    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        """The file's bytes; :class:`TooLarge` beyond ``limit`` (checked on the declared size
        first, and at most ``limit + 1`` bytes are read), or with ``prefix`` its first ``limit``."""
        ...
    def list_headers(self) -> list[str]: ...
    def local_path(self, rel: str) -> Path | None:
        """A path on disk for ``rel`` (confined), or ``None`` when the corpus is not a folder."""
        return None


class FolderSource(Source):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.description = str(root)

    def _resolve(self, rel: str) -> Path:
        """The real path of ``rel``; :class:`OutsideCorpus` if it (or a symlink on the way) leaves the root."""
        real = (self.root / rel).resolve()
        if not real.is_relative_to(self.real_root):
            raise OutsideCorpus(rel)
        return real

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        path = self._resolve(rel)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if not prefix and size > limit:
                raise TooLarge(rel, limit)
            data = f.read(min(limit if prefix else limit + 1, size + 1))  # a huge count would be allocated
        if len(data) > limit:
            raise TooLarge(rel, limit)
        return data

    def list_headers(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("*.hea"))

    def local_path(self, rel: str) -> Path | None:
        self._resolve(rel)  # confined; the path itself, so wfdb finds the signal file beside it
        return self.root / rel


class ZipSource(Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path)
        names = [n for n in self.zip.namelist() if not n.endswith("/")]
        self.prefix = zip_root(names, path)
        self.members = {n[len(self.prefix) :]: n for n in names if n.startswith(self.prefix)}
        self.description = f"{path}!{self.prefix or '/'}"
        self._lock = threading.Lock()

    def exists(self, rel: str) -> bool:
        return rel in self.members

    def read(self, rel: str, limit: int, prefix: bool = False) -> bytes:
        info = self.zip.getinfo(self.members[rel])
        if not prefix and info.file_size > limit:  # declared size: refused before inflating anything
            raise TooLarge(rel, limit)
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
            raise TooLarge(rel, limit)
        return data

    def list_headers(self) -> list[str]:
        return sorted(r for r in self.members if r.endswith(".hea") and "/" not in r)


def zip_root(names: list[str], path: Path) -> str:
    """The member prefix of the corpus folder: where ``RECORDS`` (else the first ``.hea``) lives."""
    records = [n for n in names if n.rsplit("/", 1)[-1] == "RECORDS"]
    headers = [n for n in names if n.endswith(".hea")]
    for hits in (records, headers):
        if hits:
            shallowest = min(hits, key=lambda n: (n.count("/"), n))
            return shallowest[: shallowest.rfind("/") + 1]
    raise ValueError(f"{path}: zip holds no RECORDS file and no .hea headers; not a WFDB corpus")


def folder_root(path: Path) -> Path:
    """``path`` itself if it holds the corpus, else its single subfolder that does."""
    if (path / "RECORDS").is_file() or any(path.glob("*.hea")):
        return path
    inner = [p for p in path.iterdir() if p.is_dir() and ((p / "RECORDS").is_file() or any(p.glob("*.hea")))]
    if len(inner) == 1:
        return inner[0]
    if not inner:
        raise ValueError(f"{path}: no RECORDS file and no .hea headers here or one level down; not a WFDB corpus")
    raise ValueError(f"{path}: several corpus folders inside ({', '.join(p.name for p in inner)}); pass one")


def read_list(source: Source, rel: str) -> tuple[str, str]:
    """A list file (``RECORDS``, ``REFERENCE.csv``) as text (UTF-8, a BOM dropped), and its SHA-256."""
    try:
        raw = source.read(rel, MAX_LIST_BYTES)
    except (TooLarge, OutsideCorpus) as err:
        raise ValueError(f"{source.description}: {err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{source.description}: {rel} is not UTF-8 text (byte {raw[err.start]:#04x} at offset "
                         f"{err.start})") from None
    return text, hashlib.sha256(raw).hexdigest()
