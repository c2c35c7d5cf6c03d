"""Peak RSS of opening a dataset and of an evaluate-style pass over its windows, as the corpus grows.

For each dataset and each mode, a child process of its own reports its peak RSS (``VmHWM``) and time:

* ``load``: ``load_features`` (out of core: the windows stay in the shards);
* ``pass``: ``load`` + every window read batch by batch (4096) and embedded by the scattering-pooling
  baseline, each batch dropped after use (what ``dacl evaluate`` does per batch);
* ``embed``: ``load`` + ``embed_checked`` of the train and test windows, as ``dacl evaluate`` calls it
  (the embeddings, ``(W, d)`` with small ``d``, are kept: the probe is fitted on them);
* ``in-memory``: ``load_features(mmap=False)``, every shard read into one array (before out-of-core
  loading, the only way for a dataset of several shards).

Example (the RSS table in the README)::

    .venv/bin/python benches/replicate_dataset.py DEV_DATASET DEV_X8 --times 8
    .venv/bin/python benches/load_features_rss.py DEV_DATASET DEV_X8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

MODES = ("load", "pass", "embed", "in-memory")


def peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def child(path: Path, mode: str) -> None:
    import numpy as np

    from dacl.embedding.baselines import ScatteringPoolEmbedder
    from dacl.features import load_features
    from dacl.probe.linear import embed_checked

    t0 = time.perf_counter()
    fs = load_features(path, mmap=mode != "in-memory")
    embedder = ScatteringPoolEmbedder()
    checksum = 0.0
    if mode == "pass":
        for _, batch in fs.features.iter_batches(batch=4096):
            checksum += float(embedder.embed(batch).sum(dtype=np.float64))
    elif mode == "embed":
        for side in ("train", "test"):
            checksum += float(embed_checked(embedder, fs.features, fs.window_mask(side)).sum(dtype=np.float64))
    print(
        json.dumps(
            {
                "dataset": str(path),
                "mode": mode,
                "windows": len(fs.features),
                "gib": fs.features.nbytes / 2**30,
                "seconds": time.perf_counter() - t0,
                "peak_rss_mib": peak_rss_mib(),
                "checksum": checksum,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.datasets[0], args.child)
        return
    for path in args.datasets:
        for mode in args.modes:
            out = subprocess.run(
                [sys.executable, __file__, str(path), "--child", mode], capture_output=True, text=True, check=True
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"{path.name:10s} {mode:9s} {r['windows']:8d} windows ({r['gib']:.2f} GiB)  "
                f"peak RSS {r['peak_rss_mib']:7.0f} MiB  {r['seconds']:6.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
