"""Epoch time and GPU utilisation of each training method at the dev corpus's size (the check to run on a GPU machine).

The features are synthetic: random values shaped like the dev corpus's train and val windows
(26,756 and 3,857 windows of 234 scattering paths x 11 frames, ~5.6 windows per record, four
classes). An epoch's time depends on these shapes, not on the values, and the real features
(378 MB) do not fit what travels to an offline GPU machine. Each method is trained for
``--epochs`` epochs of every stage with its shipped config (``dacl`` for DACL and its
baselines, ``diffaug`` for DiffAug). While it trains, ``nvidia-smi`` is sampled every 200 ms.
Prints a markdown table and writes ``gpu_check.json`` to ``--out``.

    python experiments/gpu-check/gpu_check.py --device cuda --out OUT                  # on the GPU machine
    python experiments/gpu-check/gpu_check.py --device cpu --scale 0.01 --epochs 1 --out /tmp/check   # on a CPU

Median seconds per epoch skip each stage's first epoch when there are two or more
(:func:`dacl.report.summaries.epoch_times` with ``skip_first=True``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dacl.devices import resolve_device
from dacl.features import FeatureSet
from dacl.io.atomic import write_json
from dacl.report.summaries import epoch_times
from dacl.training import train
from dacl.training.config import load_config

#: Dev corpus (experiments/README.md): windows per split, scattering paths, frames per window.
DEV_WINDOWS = {"train": 26_756, "val": 3_857}
DEV_PATHS, DEV_FRAMES = 234, 11
WINDOWS_PER_RECORD = 5.6
METHOD_CONFIG = {
    "dacl": "dacl",
    "gauss-contrastive": "dacl",
    "vae": "dacl",
    "dae": "dacl",
    "diffaug": "diffaug",
    "dacl+diffaug": "dacl",
}


def synthetic_dev_features(scale: float = 1.0, seed: int = 0) -> FeatureSet:
    """Random features with the dev corpus's train/val shapes (``scale`` shrinks the window counts)."""
    rng = np.random.default_rng(seed)
    sizes = {split: max(8, round(n * scale)) for split, n in DEV_WINDOWS.items()}
    n_windows = sum(sizes.values())
    n_records = {split: max(4, round(n / WINDOWS_PER_RECORD)) for split, n in sizes.items()}
    record_index = np.concatenate(
        [
            np.sort(rng.integers(0, n_records["train"], sizes["train"])),
            n_records["train"] + np.sort(rng.integers(0, n_records["val"], sizes["val"])),
        ]
    )
    total_records = sum(n_records.values())
    labels = np.arange(total_records) % 4  # every class on both sides
    split = np.array(["train"] * n_records["train"] + ["val"] * n_records["val"])
    return FeatureSet(
        features=rng.normal(size=(n_windows, 1, DEV_PATHS, DEV_FRAMES)).astype(np.float32),  # one lead, as CinC 2017
        record_index=record_index.astype(np.int64),
        starts=np.zeros(n_windows, np.int64),
        record_ids=np.array([f"S{i:05d}" for i in range(total_records)]),
        record_labels=labels.astype(np.int64),
        record_split=split,
        manifest={"synthetic": "gpu_check", "scale": scale},
    )


class GpuSampler:
    """``nvidia-smi`` utilisation and memory samples while a block runs (nothing without nvidia-smi)."""

    def __init__(self, interval_ms: int = 200) -> None:
        self.interval_ms = interval_ms
        self.samples: list[tuple[float, float]] = []

    def __enter__(self) -> GpuSampler:
        self._log = tempfile.TemporaryFile(mode="w+")
        exe = shutil.which("nvidia-smi")
        self._proc = (
            None
            if exe is None
            else subprocess.Popen(
                [
                    exe,
                    "--query-gpu=utilization.gpu,memory.used",
                    "--format=csv,noheader,nounits",
                    f"-lms={self.interval_ms}",
                ],
                stdout=self._log,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._log.seek(0)
        for line in self._log:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 2 and all(p.replace(".", "", 1).isdigit() for p in parts):
                self.samples.append((float(parts[0]), float(parts[1])))
        self._log.close()

    def summary(self) -> dict[str, float | int | None]:
        if not self.samples:
            return {"samples": 0, "util_mean": None, "util_median": None, "mem_max_mib": None}
        util = [u for u, _ in self.samples]
        return {
            "samples": len(util),
            "util_mean": statistics.fmean(util),
            "util_median": statistics.median(util),
            "mem_max_mib": max(m for _, m in self.samples),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--methods", nargs="+", default=["dacl", "gauss-contrastive", "diffaug"], choices=sorted(METHOD_CONFIG)
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs of every stage (default 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the dev corpus's window counts")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    device = resolve_device(args.device)
    features = synthetic_dev_features(args.scale)
    results = []
    for method in args.methods:
        e = args.epochs
        config = load_config(METHOD_CONFIG[method]).replace(
            train={"method": method, "device": str(device), "threads": 0},
            vae={"epochs": e},
            encoder={"epochs": e},
            dae={"epochs": e},
            diffaug={"warmup_epochs": e, "m_epochs": e, "e_epochs": e},
        )
        run_dir = args.out / method.replace("+", "_")
        if run_dir.exists():  # never delete what this run did not create
            raise SystemExit(f"{run_dir} exists; give a new --out")
        start = time.perf_counter()
        with GpuSampler() as gpu:
            train(config, features, run_dir, progress=False)
        stages = {stage: {"epochs": n, "median_s": sec} for stage, (n, sec) in epoch_times(run_dir, True).items()}
        results.append(
            {"method": method, "wall_s": time.perf_counter() - start, "stages": stages, "gpu": gpu.summary()}
        )
    doc = {
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
        ),
        "torch": torch.__version__,
        "windows": {split: int(features.window_mask(split).sum()) for split in ("train", "val")},
        "epochs": args.epochs,
        "methods": results,
    }
    write_json(args.out / "gpu_check.json", doc)
    print(f"{doc['device_name']} ({doc['device']}), torch {doc['torch']}, {doc['windows']['train']} train windows")
    print("| method | stage | epochs | median s/epoch | GPU util mean / median % | GPU memory max MiB |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        g = r["gpu"]
        util = "—" if g["util_mean"] is None else f"{g['util_mean']:.0f} / {g['util_median']:.0f}"
        mem = "—" if g["mem_max_mib"] is None else f"{g['mem_max_mib']:.0f}"
        for stage, s in r["stages"].items():
            print(f"| {r['method']} | {stage} | {s['epochs']} | {s['median_s']:.2f} | {util} | {mem} |")


if __name__ == "__main__":
    main()
