"""A features dataset K times as large: its shards written K times into a new dataset directory.

Copy j of record ``NAME`` is named ``rj_NAME`` (so record names stay unique) and keeps its
split, label and windows; each copy's shards follow the previous copy's, with ``record_index``
moved on by the records before them. For measuring how training scales with the corpus
(``dacl train`` on the dataset and on its K-fold copy), not for training a model.

Example (the development corpus, 8 copies)::

    .venv/bin/python benches/replicate_dataset.py runs/dev runs/dev-x8 --copies 8
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import numpy as np

from dacl.features.store import shard_dirs


def rows_of(csv_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_rows(csv_path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def renamed(rows: list[dict[str, str]], copy: int) -> list[dict[str, str]]:
    return [{**row, "record": f"r{copy}_{row['record']}"} for row in rows]


def replicate(source: Path, out: Path, copies: int) -> None:
    manifest = json.loads((source / "manifest.json").read_text())
    if manifest.get("format_version", 1) >= 2:
        raise ValueError(
            f"{source}: format {manifest['format_version']} keeps its split and shard identities "
            "elsewhere; this script copies format-1 datasets only"
        )
    shards = shard_dirs(source)
    fields, rows = rows_of(source / "records.csv")
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new directory")
    (out / "shards").mkdir(parents=True)
    for copy in range(copies):
        for k, shard in enumerate(shards):
            target = out / "shards" / f"{copy * len(shards) + k:06d}"
            target.mkdir()
            for name in ("features", "starts"):
                shutil.copyfile(shard / f"{name}.npy", target / f"{name}.npy")
            np.save(target / "record_index.npy", np.load(shard / "record_index.npy") + copy * len(rows))
            shard_fields, shard_rows = rows_of(shard / "records.csv")
            write_rows(target / "records.csv", shard_fields, renamed(shard_rows, copy))
    write_rows(out / "records.csv", fields, [row for copy in range(copies) for row in renamed(rows, copy)])
    counts = {key: manifest[key] * copies for key in ("n_records", "n_records_ok", "n_windows")}
    manifest.update(counts, n_shards=len(shards) * copies, replicated={"source": str(source), "copies": copies})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a dataset written by dacl preprocess (format 1)")
    parser.add_argument("out", type=Path, help="the new dataset directory")
    parser.add_argument("--copies", type=int, default=8)
    args = parser.parse_args()
    replicate(args.source, args.out, args.copies)
    print(f"{args.out}: {args.copies} copies of {args.source}")


if __name__ == "__main__":
    main()
