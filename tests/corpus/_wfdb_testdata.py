"""Test data for the WFDB reader: the shared real samples, records written by ``wfdb``, zips, byte counting."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

from dacl.corpus.sources import FolderSource, SeekableReader

ROOT = Path(__file__).resolve().parents[2]


def _shared_data() -> Path:
    """``../shared/data`` beside the repository; from a git worktree, beside its main checkout."""
    here = ROOT.parent / "shared" / "data"
    git = ROOT / ".git"
    if here.is_dir() or not git.is_file():
        return here
    # A worktree's .git is a file "gitdir: MAIN/.git/worktrees/NAME".
    gitdir = Path(git.read_text().split("gitdir:", 1)[-1].strip())
    main_checkout = gitdir.parents[2] if gitdir.parent.name == "worktrees" else gitdir.parent
    return main_checkout.parent / "shared" / "data"


#: Real WFDB samples shared by the project (absent on machines without them: those tests skip).
SHARED_DATA = _shared_data()


def write_record(
    folder: Path,
    name: str,
    digital: np.ndarray,
    *,
    fmts: list[str],
    files: list[int],
    gains: list[float],
    baselines: list[int],
    units: list[str],
    leads: list[str],
    byte_offsets: dict[int, int] | None = None,
    fs: float = 250.0,
) -> Path:
    """Write ``digital`` (``(n_samples, n_signals)``) with ``wfdb``; returns the record path without extension.

    Signal ``i`` goes to file number ``files[i]`` (``NAME_F.dat``) in format ``fmts[i]``
    (all signals of a file share one format). ``byte_offsets`` maps a file number to a
    count of junk bytes put in front of that file, declared in the header as ``+N``.
    """
    n_samples, n_signals = digital.shape
    file_names = [f"{name}_{f}.dat" for f in files]
    bits = {"16": 16, "212": 12, "24": 24, "32": 32, "80": 8}
    record = wfdb.Record(
        record_name=name,
        n_sig=n_signals,
        fs=fs,
        sig_len=n_samples,
        file_name=file_names,
        fmt=fmts,
        adc_gain=gains,
        baseline=baselines,
        units=units,
        sig_name=leads,
        d_signal=digital,
        adc_res=[bits[f] for f in fmts],
        adc_zero=[0] * n_signals,
        block_size=[0] * n_signals,
    )
    record.set_d_features()  # initial values and checksums, as a real writer records them
    record.wrsamp(write_dir=str(folder))
    for file_number, offset in (byte_offsets or {}).items():
        _prepend_junk(folder, name, f"{name}_{file_number}.dat", offset)
    return folder / name


def _prepend_junk(folder: Path, name: str, file_name: str, offset: int) -> None:
    data = folder / file_name
    junk = bytes((7 * i + 3) % 256 for i in range(offset))
    data.write_bytes(junk + data.read_bytes())
    header = folder / f"{name}.hea"
    lines = header.read_text().splitlines()
    for i, line in enumerate(lines):
        fields = line.split(" ", 2)
        if fields[0] == file_name:
            lines[i] = f"{fields[0]} {fields[1]}+{offset} {fields[2]}"
    header.write_text("\n".join(lines) + "\n")


def zip_folder(folder: Path, dest: Path, compression: int = zipfile.ZIP_DEFLATED, prefix: str = "data/") -> Path:
    """Zip every file of ``folder`` under ``prefix``."""
    with zipfile.ZipFile(dest, "w", compression=compression) as z:
        for f in sorted(folder.iterdir()):
            if f.is_file() and f != dest:
                z.write(f, prefix + f.name)
    return dest


@dataclass
class CountingSource(FolderSource):
    """A folder source that records the size of every read its files answer."""

    root_dir: Path
    reads: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.root_dir)

    def open(self, rel: str) -> SeekableReader:
        return _CountingReader(super().open(rel), self.reads)


class _CountingReader:
    def __init__(self, inner: SeekableReader, reads: list[int]) -> None:
        self.inner, self.reads = inner, reads

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return self.inner.seek(offset, whence)

    def read(self, size: int = -1, /) -> bytes:
        data = self.inner.read(size)
        self.reads.append(len(data))
        return data

    def close(self) -> None:
        self.inner.close()
