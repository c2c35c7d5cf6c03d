"""A large synthetic 12-lead corpus in the CinC 2020/2021 layout, for the scale-out benchmarks.

Each record is ``NAME.hea`` + ``NAME.mat`` (a MATLAB v4 int16 matrix, WFDB format 16 with a 24-byte offset,
exactly as the challenge distributes them), 12 standard leads, 500 Hz, 10 s, with ``# Age``, ``# Sex`` and
``# Dx`` (SNOMED CT codes) comments; a ``RECORDS`` file lists them. The signals are ECG-like (a beat train
with a per-record heart rate, per-lead amplitudes and baseline wander, plus noise) and deterministic: record
``k`` depends only on ``--seed`` and ``k``, so a corpus of 20,000 records starts with the one of 2,000.

Example (the benchmark in the README)::

    .venv/bin/python benches/make_synthetic_corpus.py SYNTH_DIR --records 2000
"""

from __future__ import annotations

import argparse
import os
import struct
import time
from pathlib import Path

import numpy as np

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: SNOMED CT codes of CinC 2021 scored classes (sinus rhythm, AF, LBBB, RBBB, 1st degree AV block, sinus brady).
CODES = ("426783006", "164889003", "164909002", "59118001", "270492004", "426177001")
FS, SECONDS, GAIN = 500, 10, 1000.0


def ecg_signal(k: int, seed: int) -> np.ndarray:
    """``(12, 5000)`` millivolts of record ``k``."""
    rng = np.random.default_rng([seed, k])
    t = np.arange(FS * SECONDS) / FS
    rate = rng.uniform(50, 110) / 60  # beats per second
    phase = (t * rate + rng.uniform()) % 1.0
    # P, QRS and T waves as Gaussian bumps at fixed phases of the beat.
    beat = (
        0.15 * np.exp(-(((phase - 0.2) / 0.025) ** 2))
        + 1.0 * np.exp(-(((phase - 0.35) / 0.008) ** 2))
        - 0.2 * np.exp(-(((phase - 0.38) / 0.01) ** 2))
        + 0.3 * np.exp(-(((phase - 0.6) / 0.05) ** 2))
    )
    amplitude = rng.uniform(-1.2, 1.5, size=(12, 1))
    wander = 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4, size=(12, 1)) * t + rng.uniform(0, 6.3, size=(12, 1)))
    noise = rng.normal(0, 0.02, size=(12, len(t)))
    return amplitude * beat + wander + noise


def mat_v4_int16(matrix: np.ndarray) -> bytes:
    """A MATLAB v4 file holding ``matrix`` (int16, rows = leads) as the variable ``val``: a 20-byte header, the
    name, then the values column by column (one frame of every lead after the other)."""
    rows, cols = matrix.shape
    header = struct.pack("<5i", 30, rows, cols, 0, 4)  # type 30: little-endian int16 numeric matrix
    return header + b"val\0" + np.asarray(matrix, "<i2").T.tobytes()


def header_text(name: str, digital: np.ndarray, k: int, seed: int) -> str:
    rng = np.random.default_rng([seed, k, 1])
    lines = [f"{name} 12 {FS} {FS * SECONDS}"]
    for lead, row in zip(LEADS, digital, strict=True):
        checksum = int(row.astype(np.int64).sum()) % 65536
        lines.append(f"{name}.mat 16+24 {GAIN:g}/mV 16 0 {int(row[0])} {checksum} 0 {lead}")
    codes = sorted(set(rng.choice(CODES, size=int(rng.integers(1, 3)), replace=False)))
    lines += [
        f"# Age: {int(rng.integers(20, 90))}",
        f"# Sex: {'Male' if k % 2 else 'Female'}",
        f"# Dx: {','.join(codes)}",
        "# Rx: Unknown",
        "# Hx: Unknown",
        "# Sx: Unknown",
    ]
    return "\n".join(lines) + "\n"


def write_record(folder: Path, k: int, seed: int) -> str:
    name = f"S{k + 1:06d}"
    digital = np.clip(np.round(ecg_signal(k, seed) * GAIN), -32767, 32767).astype(np.int16)
    (folder / f"{name}.mat").write_bytes(mat_v4_int16(digital))
    (folder / f"{name}.hea").write_text(header_text(name, digital, k, seed))
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (created; records already there are kept)")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    names = []
    for k in range(args.records):
        name = f"S{k + 1:06d}"
        if not (args.out / f"{name}.hea").is_file():
            write_record(args.out, k, args.seed)
        names.append(name)
    tmp = args.out / ".RECORDS.tmp"
    tmp.write_text("\n".join(names) + "\n")
    os.replace(tmp, args.out / "RECORDS")
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in args.out.iterdir()) / 2**20
    print(
        f"{args.out}: {args.records} records (12 leads, {FS} Hz, {SECONDS} s), {size:.0f} MiB, "
        f"made in {seconds:.1f} s ({args.records / seconds:.0f} records/s)"
    )


if __name__ == "__main__":
    main()
