"""A features dataset replicated K times into a new one, to measure what grows with the corpus.

Every shard is written K times (copy ``i`` of record ``NAME`` is ``NAME@i``, its windows point at its
rows, its split side is the original's, so byte-identical replicas never straddle the split); the
manifest, ``records.csv``, ``split.json`` and each shard's ``identity.json`` are made to agree, so
``load_features`` opens the result like any dataset (formats 1 to 3).

Example (the RSS table in the README)::

    .venv/bin/python benches/replicate_dataset.py DEV_DATASET DEV_X8 --times 8
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from dacl.features.store import read_records_csv, records_csv_bytes, shard_dirs


def replicate(src: Path, dst: Path, times: int) -> None:
    manifest = json.loads((src / "manifest.json").read_text())
    rows = read_records_csv(src)
    n_rows, shards = len(rows), shard_dirs(src)
    dst.mkdir(parents=True)
    (dst / "shards").mkdir()
    index = 0
    for i in range(times):
        for shard in shards:
            out = dst / "shards" / f"{index:06d}"
            shutil.copytree(shard, out)
            record_index = np.load(shard / "record_index.npy")
            np.save(out / "record_index.npy", record_index + i * n_rows)
            if (shard / "identity.json").is_file():
                identity = json.loads((shard / "identity.json").read_text())
                identity.update(n_records=n_rows * times, shard=index)
                (out / "identity.json").write_text(json.dumps(identity))
            index += 1
    all_rows = [{**row, "record": f"{row['record']}@{i}"} for i in range(times) for row in rows]
    (dst / "records.csv").write_bytes(records_csv_bytes(all_rows))
    split = src / "split.json"
    if split.is_file():
        doc = json.loads(split.read_text())
        doc["assignment"] = {f"{name}@{i}": side for i in range(times) for name, side in doc["assignment"].items()}
        (dst / "split.json").write_text(json.dumps(doc))
    manifest.update(
        n_records=n_rows * times,
        n_shards=index,
        n_windows=manifest["n_windows"] * times,
        n_records_ok=manifest.get("n_records_ok", n_rows) * times,
        replicated={"from": str(src), "times": times},
    )
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path, help="a new folder")
    parser.add_argument("--times", type=int, default=8)
    args = parser.parse_args()
    replicate(args.src, args.dst, args.times)
    print(f"{args.dst}: {args.src} x{args.times}")


if __name__ == "__main__":
    main()
