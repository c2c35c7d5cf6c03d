"""Record reading speed: ``dacl.corpus`` against ``wfdb.rdrecord`` on the same folder of records.

Reads every record of a corpus folder through ``open_corpus(...).read`` and through
``wfdb.rdrecord(...).p_signal`` (one thread each, best of ``--rounds`` passes over the
files, which are in the page cache after the first), and prints records/s by wall time
and by process CPU time (the steadier number on a shared machine), and samples/s.

Example (the CinC 2021 sample: 12 leads, 500 Hz, ``.mat``)::

    .venv/bin/python benches/read_corpus.py CINC2021_FOLDER
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import wfdb

from dacl.corpus import open_corpus
from dacl.corpus.sources import folder_root


def _timed(read: Callable[[str], int], names: list[str], rounds: int) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds, samples) of reading ``names`` ``rounds`` times."""
    wall = cpu = float("inf")
    samples = 0
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        samples = sum(read(name) for name in names)
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return wall, cpu, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a corpus folder (wfdb.rdrecord reads files, not zips)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = open_corpus(args.corpus)
    root = folder_root(args.corpus)  # the folder open_corpus reads (it may be one level down)
    readers: dict[str, Callable[[str], int]] = {
        "dacl.corpus": lambda name: corpus.read(name, keep_invalid=True).signal.size,
        "wfdb.rdrecord": lambda name: wfdb.rdrecord(str(root / name)).p_signal.size,
    }
    print(f"{args.corpus}: {len(corpus.names)} records, layout {corpus.layout}")
    for label, read in readers.items():
        wall, cpu, samples = _timed(read, corpus.names, args.rounds)
        print(
            f"  {label:14s} {len(corpus.names) / wall:8.0f} records/s wall {len(corpus.names) / cpu:8.0f} "
            f"records/CPU-s {samples / cpu / 1e6:8.1f} M samples/CPU-s"
        )


if __name__ == "__main__":
    main()
