"""Build ``python/dacl/corpus/data/physionet2017-sample.zip`` from a PhysioNet 2017 training zip.

Reproducible: a fixed seed picks a per-class quota of records (every class
appears), and the zip is written with fixed timestamps and member order, so
the same input gives a byte-identical sample. The shipped sample was drawn from the
project's development copy of PhysioNet's ``training2017.zip``. Usage::

    .venv/bin/python tools/make_sample.py SOURCE_ZIP [--seed 0] [--out ZIP]
"""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from dacl.corpus import open_corpus
from dacl.io.atomic import atomic_output

OUT = Path(__file__).resolve().parents[1] / "python" / "dacl" / "corpus" / "data" / "physionet2017-sample.zip"
#: Records per class: every class appears, roughly like the corpus but with the rare ones boosted.
QUOTA = {"N": 16, "A": 10, "O": 10, "~": 4}
#: PhysioNet's documented byte-identical pairs; kept together in the sample when both are present.
DUPLICATE_PAIRS = [("A00227", "A01176"), ("A02656", "A03123")]
FIXED_TIME = (2017, 1, 1, 0, 0, 0)


def choose_records(labels: dict[str, str], seed: int = 0) -> list[str]:
    """The sample's record names: duplicate pairs kept together, then a seeded draw filling each class's quota."""
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    for a, b in DUPLICATE_PAIRS:
        if a in labels and b in labels:
            chosen += [a, b]
    for label, quota in QUOTA.items():
        pool = sorted(n for n, lab in labels.items() if lab == label and n not in chosen)
        have = sum(labels[n] == label for n in chosen)
        chosen += [str(n) for n in rng.choice(pool, size=max(quota - have, 0), replace=False)]
    return sorted(chosen)


def make_sample(source: Path, out: Path = OUT, seed: int = 0) -> dict[str, int]:
    """Write the sample of ``source`` (a PhysioNet 2017 training zip) to ``out``; returns records per class."""
    corpus = open_corpus(source)
    if corpus.layout != "cinc2017":
        raise ValueError(f"{source}: no REFERENCE.csv, so no labels to draw a per-class sample from")
    labels = {n: lab for n in corpus.names if (lab := corpus.label(n)) is not None}
    chosen = choose_records(labels, seed)
    reference = io.StringIO()
    csv.writer(reference, lineterminator="\n").writerows((n, labels[n]) for n in chosen)
    files = {"RECORDS": "".join(f"{n}\n" for n in chosen).encode(), "REFERENCE.csv": reference.getvalue().encode()}
    with zipfile.ZipFile(source) as zin:
        members = {n.rsplit("/", 1)[-1]: n for n in zin.namelist()}
        files |= {name + ext: zin.read(members[name + ext]) for name in chosen for ext in (".hea", ".mat")}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as f:
        write_zip(f, files)
    return {lab: sum(labels[n] == lab for n in chosen) for lab in QUOTA}


def write_zip(f: IO[bytes], files: dict[str, bytes], prefix: str = "training2017/") -> None:
    """The files under one top folder, in the given order, with fixed times and modes (reproducible bytes)."""
    with zipfile.ZipFile(f, "w") as zout:
        folder = zipfile.ZipInfo(prefix, date_time=FIXED_TIME)
        folder.external_attr = 0o40755 << 16
        zout.writestr(folder, b"")
        for name, data in files.items():
            info = zipfile.ZipInfo(prefix + name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a PhysioNet 2017 training zip (with REFERENCE.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    counts = make_sample(args.source, args.out, args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {sum(counts.values())} records {counts}")


if __name__ == "__main__":
    main()
