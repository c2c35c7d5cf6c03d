"""experiments/gpu-check/gpu_check.py, the device check for a GPU machine, run here on the CPU so it does not rot."""

from __future__ import annotations

import json
import os
import stat
import sys
import time

import pytest
from helpers import EXPERIMENTS, load_script


@pytest.fixture(scope="module")
def gpu_check():
    return load_script(EXPERIMENTS / "gpu-check" / "gpu_check.py")


def test_synthetic_features_have_the_dev_shapes(gpu_check) -> None:
    fs = gpu_check.synthetic_dev_features(scale=0.01)
    assert fs.features.shape[1:] == (1, gpu_check.DEV_PATHS, gpu_check.DEV_FRAMES)
    assert fs.window_mask("train").sum() == round(0.01 * gpu_check.DEV_WINDOWS["train"])
    assert fs.window_mask("val").sum() == round(0.01 * gpu_check.DEV_WINDOWS["val"])
    for split in ("train", "val"):
        assert set(fs.record_labels[fs.record_split == split]) == {0, 1, 2, 3}


def test_sampler_reads_nvidia_smi_lines(gpu_check, tmp_path, monkeypatch) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '40, 1000\\n60, 3000\\n[N/A], 12\\n'\nexec sleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with gpu_check.GpuSampler() as gpu:
        time.sleep(0.5)
    assert gpu.summary() == {"samples": 2, "util_mean": 50.0, "util_median": 50.0, "mem_max_mib": 3000.0}


def test_sampler_without_nvidia_smi(gpu_check, monkeypatch) -> None:
    monkeypatch.setattr(gpu_check.shutil, "which", lambda name: None)
    with gpu_check.GpuSampler() as gpu:
        pass
    assert gpu.summary()["samples"] == 0


@pytest.mark.slow
def test_script_trains_and_reports_on_cpu(gpu_check, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "check"
    monkeypatch.setattr(
        sys,
        "argv",
        ["gpu_check", "--device", "cpu", "--methods", "dacl", "--epochs", "2", "--scale", "0.005", "--out", str(out)],
    )
    gpu_check.main()
    doc = json.loads((out / "gpu_check.json").read_text())
    (result,) = doc["methods"]
    assert result["method"] == "dacl" and set(result["stages"]) == {"vae", "encoder"}
    assert all(s["epochs"] == 2 and s["median_s"] > 0 for s in result["stages"].values())
    assert "| dacl | encoder | 2 |" in capsys.readouterr().out
