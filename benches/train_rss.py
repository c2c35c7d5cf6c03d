"""Peak RSS of ``dacl train``'s own part, apart from loading the features.

Loads a features dataset, notes the peak and current RSS, resets the kernel's peak
(``/proc/self/clear_refs`` 5, Linux), then trains a method with the tiny config (``--epochs`` epochs of
each stage, CPU; default DACL: VAE, the pass encoding every window, the SupCon encoder) and reports the
peak during training and its increment over the loaded features.

Example (the development corpus and its 8-fold copy from benches/replicate_dataset.py)::

    .venv/bin/python benches/train_rss.py DEV_DATASET    # one process per dataset: a process's
    .venv/bin/python benches/train_rss.py DEV_X8         # peak never comes down
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from dacl.features import load_features
from dacl.training import train
from dacl.training.config import load_config

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "tiny.toml"


def rss_mb(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {key} in /proc/self/status")


def measure(dataset: Path, epochs: int, method: str, config_path: Path = CONFIG) -> dict[str, object]:
    features = load_features(dataset)
    load_peak, after_load = rss_mb("VmHWM"), rss_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from the current RSS
    config = load_config(config_path).replace(
        train={"method": method, "device": "cpu"},
        vae={"epochs": epochs},
        encoder={"epochs": epochs},
        dae={"epochs": epochs},
    )
    out = Path(tempfile.mkdtemp(prefix="train-rss-"))
    t0 = time.perf_counter()
    try:
        train(config, features, out / "run", progress=False)
        history = json.loads((out / "run" / "history.json").read_text())
    finally:
        shutil.rmtree(out)
    peak = rss_mb("VmHWM")
    return {
        "dataset": str(dataset),
        "train_windows": history["n_train"],
        "load_features_peak_mb": round(load_peak),
        "rss_after_load_mb": round(after_load),
        "train_peak_mb": round(peak),
        "train_increment_mb": round(peak - after_load),
        "train_s": round(time.perf_counter() - t0, 1),
        "method": method,
        "epoch_s": {stage: [round(row["time_s"], 2) for row in rows] for stage, rows in history["stages"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", type=Path, nargs="+")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each stage (default 2)")
    parser.add_argument("--method", default="dacl", help="the method trained (default dacl)")
    parser.add_argument("--config", type=Path, default=CONFIG, help="the experiment config (default configs/tiny.toml)")
    args = parser.parse_args()
    for dataset in args.datasets:  # one process each would be cleaner; the peak is reset before each training
        print(json.dumps(measure(dataset, args.epochs, args.method, args.config)))


if __name__ == "__main__":
    main()
