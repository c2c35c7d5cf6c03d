"""Build ``python/dacl/corpus/data/physionet2017-sample.zip`` from a PhysioNet 2017 training zip.

Reproducible: a fixed seed picks a per-class quota of records (every class
appears), and the zip is written with fixed timestamps and member order, so
the same input gives a byte-identical sample. Usage::

    .venv/bin/python scripts/make_sample.py [SOURCE_ZIP] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path

import numpy as np

from dacl.corpus import open_corpus

DEFAULT_SOURCE = Path("/work/shared/data/physionet2017/training2017-dev.zip")
OUT = Path(__file__).resolve().parents[1] / "python" / "dacl" / "corpus" / "data" / "physionet2017-sample.zip"
#: Records per class: every class appears, roughly like the corpus but with the rare ones boosted.
QUOTA = {"N": 16, "A": 10, "O": 10, "~": 4}
#: PhysioNet's documented byte-identical pairs; kept together in the sample when both are present.
DUPLICATE_PAIRS = [("A00227", "A01176"), ("A02656", "A03123")]
FIXED_TIME = (2017, 1, 1, 0, 0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    corpus = open_corpus(args.source)
    assert corpus.labels is not None, "the source needs a REFERENCE.csv"
    rng = np.random.default_rng(args.seed)
    chosen: list[str] = []
    for a, b in DUPLICATE_PAIRS:
        if a in corpus.labels and b in corpus.labels:
            chosen += [a, b]
    for label, quota in QUOTA.items():
        pool = sorted(n for n, lab in corpus.labels.items() if lab == label and n not in chosen)
        have = sum(corpus.labels[n] == label for n in chosen)
        chosen += [str(n) for n in rng.choice(pool, size=max(quota - have, 0), replace=False)]
    chosen.sort()

    source = zipfile.ZipFile(args.source)
    prefix = "training2017/"
    members = {n.rsplit("/", 1)[-1]: n for n in source.namelist()}

    def add(zout: zipfile.ZipFile, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(prefix + name, date_time=FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zout.writestr(info, data)

    reference = io.StringIO()
    csv.writer(reference, lineterminator="\n").writerows((n, corpus.labels[n]) for n in chosen)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as zout:
        dir_info = zipfile.ZipInfo(prefix, date_time=FIXED_TIME)
        dir_info.external_attr = 0o40755 << 16
        zout.writestr(dir_info, b"")
        add(zout, "RECORDS", "".join(f"{n}\n" for n in chosen).encode())
        add(zout, "REFERENCE.csv", reference.getvalue().encode())
        for name in chosen:
            for ext in (".hea", ".mat"):
                add(zout, name + ext, source.read(members[name + ext]))
    tmp.replace(args.out)
    counts = {lab: sum(corpus.labels[n] == lab for n in chosen) for lab in QUOTA}
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {len(chosen)} records {counts}")


if __name__ == "__main__":
    main()
