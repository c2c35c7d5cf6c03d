"""Summaries across runs and splits: epoch times, score tables, split tables, and `dacl summarise`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import evaluate_against_baseline

from dacl import cli
from dacl.report import summaries


def write_history(run: Path, history: object) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    (run / "history.json").write_text(json.dumps(history))
    return run


def contrastive_history(vae: list[float], encoder: list[float]) -> dict:
    """A ``history.json`` of the contrastive trainer: per stage, one row per epoch with its seconds."""
    return {
        "method": "dacl",
        "stages": {
            "vae": [{"epoch": i, "time_s": t} for i, t in enumerate(vae)],
            "encoder": [{"epoch": i, "time_s": t} for i, t in enumerate(encoder)],
            "dae": [],
        },
    }


def diffaug_history(phases: list[tuple[str, float]]) -> dict:
    """A ``history.json`` of the DiffAug trainer: one row per epoch with its phase (E or M)."""
    return {"method": "diffaug", "epochs": [{"kind": k, "seconds": s} for k, s in phases]}


def test_epoch_times_are_medians_per_stage(tmp_path: Path) -> None:
    run = write_history(tmp_path / "dacl", contrastive_history([9.0, 1.0, 3.0], [50.0, 10.0, 12.0, 14.0]))
    assert summaries.epoch_times(run) == {"vae": (3, 3.0), "encoder": (4, 13.0)}  # the empty dae stage is left out
    assert summaries.epoch_times(run, skip_first=True) == {"vae": (3, 2.0), "encoder": (4, 12.0)}


def test_epoch_times_of_diffaug_phases_and_a_sub_run(tmp_path: Path) -> None:
    run = write_history(tmp_path / "dacl_diffaug", contrastive_history([2.0], [7.0, 9.0]))
    write_history(run / "diffaug", diffaug_history([("E", 4.0), ("M", 30.0), ("E", 6.0), ("M", 40.0), ("E", 5.0)]))
    assert summaries.epoch_times(run) == {
        "vae": (1, 2.0),
        "encoder": (2, 8.0),
        "sub-diffaug E": (3, 5.0),
        "sub-diffaug M": (2, 35.0),
    }
    alone = write_history(tmp_path / "diffaug", diffaug_history([("E", 1.0), ("E", 3.0)]))
    assert summaries.epoch_times(alone) == {"diffaug E": (2, 2.0)}


@pytest.mark.parametrize(
    "history", [{"stages": {"vae": [{"epoch": 0}]}}, {"epochs": [{"kind": "E"}]}, {"stages": {"vae": "fast"}}, [1, 2]]
)
def test_a_history_that_is_not_a_run_history_is_a_value_error(tmp_path: Path, history: object) -> None:
    run = write_history(tmp_path / "odd", history)
    with pytest.raises(ValueError, match="history.json"):
        summaries.epoch_times(run)


def test_runs_table_lists_every_run_with_a_history(tmp_path: Path) -> None:
    write_history(tmp_path / "b_run", contrastive_history([1.0], [20.0, 22.0]))
    write_history(tmp_path / "a_run", diffaug_history([("M", 3.0)]))
    (tmp_path / "unfinished").mkdir()
    assert summaries.epoch_time_table(tmp_path).splitlines() == [
        "| run | stage | epochs | median s/epoch |",
        "|---|---|---:|---:|",
        "| a_run | diffaug M | 1 | 3.0 |",
        "| b_run | vae | 1 | 1.0 |",
        "| b_run | encoder | 2 | 21.0 |",
    ]
    with pytest.raises(FileNotFoundError, match="runs folder not found"):
        summaries.epoch_time_table(tmp_path / "missing")


def test_summarise_runs_prints_times_and_the_scores_of_an_evaluation(tmp_path: Path, monkeypatch, capsys) -> None:
    evaluation = evaluate_against_baseline(tmp_path, monkeypatch, "--on", "val")
    write_history(tmp_path / "runs" / "run", contrastive_history([1.0], [5.0]))
    capsys.readouterr()
    assert cli.main(["summarise", "runs", str(tmp_path / "runs"), "--scores", str(evaluation)]) == 0
    out = capsys.readouterr().out
    base, run = json.loads((evaluation / "metrics.json").read_text())["methods"]
    assert "| run | encoder | 1 | 5.0 |" in out
    assert "| run (val split) | AUROC AF | macro AUROC | F1 |" in out
    scores = [
        f"{m['metrics'][k]['value']:.4f}" for m in (base, run) for k in ("auroc_af", "auroc_macro_ovr", "f1_challenge")
    ]
    assert f"| scattering-pool | {' | '.join(scores[:3])} |" in out  # the baseline by its name
    assert f"| run | {' | '.join(scores[3:])} |" in out  # a run by its folder


def split_folders(tmp_path: Path, monkeypatch) -> tuple[Path, Path, dict]:
    """Two evaluations of the same runs: one with its own split seed, and a copy relabelled as split 7 (its
    document is returned)."""
    out = evaluate_against_baseline(tmp_path, monkeypatch)
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["split"]["seed"] < 7
    second = tmp_path / "split7"
    second.mkdir()
    doc["split"]["seed"] = 7
    (second / "metrics.json").write_text(json.dumps(doc))
    return out, second, doc


def test_split_scores_read_both_methods_and_the_stored_paired_difference(tmp_path: Path, monkeypatch) -> None:
    out, second, doc = split_folders(tmp_path, monkeypatch)
    row = summaries.split_scores(out, "mean")
    base, other = doc["methods"]
    assert row.baseline["auroc_af"] == base["metrics"]["auroc_af"]
    assert row.method is not None and row.method["auroc_af"] == other["metrics"]["auroc_af"]
    assert row.difference is not None and row.difference["auroc_af"] == other["difference_to"]["auroc_af"]
    assert summaries.split_scores(out, "absent").method is None  # the baseline alone
    with pytest.raises(ValueError, match="has no paired difference to mean"):  # the baseline must come first
        summaries.split_scores(out, "scattering-pool", baseline="mean")
    assert other["paired"] == {"scattering-pool": other["difference_to"]}
    del other["paired"]
    (second / "metrics.json").write_text(json.dumps(doc))
    assert summaries.split_scores(second, "mean").difference == row.difference  # files from before `paired`
    doc["methods"] = doc["methods"][1:]
    (second / "metrics.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="no scattering-pool row"):
        summaries.split_scores(second, "mean")
    (second / "metrics.json").write_text(json.dumps({"methods": [{"method": "scattering-pool"}]}))
    with pytest.raises(ValueError, match="not a dacl evaluate result"):
        summaries.split_scores(second, "mean")


def test_summarise_splits_table_plot_and_robustness(tmp_path: Path, monkeypatch, capsys) -> None:
    out, second, doc = split_folders(tmp_path, monkeypatch)
    seed = json.loads((out / "metrics.json").read_text())["split"]["seed"]
    other = doc["methods"][1]
    capsys.readouterr()
    png = tmp_path / "af.png"
    assert cli.main(["summarise", "splits", str(second), str(out), "--method", "mean", "--png", str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith(f"| {seed} ") or line.startswith("| 7 ")]
    assert [r.split(" | ")[0] for r in rows] == [f"| {seed}", "| 7"]  # sorted by split seed
    assert f"{other['difference_to']['auroc_af']['value']:+.4f}" in rows[0]
    value = other["metrics"]["auroc_af"]["value"]
    assert f"- mean, auroc_af: mean {value:.4f} over 2 splits, range {value:.4f} … {value:.4f}" in lines
    d = other["difference_to"]["auroc_af"]
    above, below = 2 * (d["low"] > 0), 2 * (d["high"] < 0)  # the same evaluation twice
    assert any(
        line.startswith("- Δ mean − scattering + LR, auroc_af:")
        and line.endswith(f"above 0 on {above}, below 0 on {below}")
        for line in lines
    )
    assert png.read_bytes().startswith(b"\x89PNG")
    assert not any("under each corruption" in line for line in lines)  # no robustness curves evaluated
    # With robustness curves (as `dacl evaluate --robustness` writes them): one row of differences per split.
    diff = {"value": -0.0415, "low": -0.07, "high": -0.0131, "level": 0.95}
    doc["robustness"] = [
        {"method": "scattering-pool", "points": [{"label": "12 dB"}]},
        {
            "method": "mean",
            "difference_to": "scattering-pool",
            "points": [{"label": "12 dB", "difference": {"auroc_af": diff}}],
        },
    ]
    (second / "metrics.json").write_text(json.dumps(doc))
    assert summaries.robustness_differences(second, "mean") == (7, {"12 dB": diff})
    assert summaries.robustness_differences(out, "mean") is None
    assert cli.main(["summarise", "splits", str(second), str(out), "--method", "mean"]) == 0
    robustness_png = tmp_path / "robustness.png"
    argv = ["summarise", "splits", str(second), str(out), "--method", "mean", "--robustness-png", str(robustness_png)]
    assert cli.main(argv) == 2  # only one of the two folders has curves: no method is scored by both
    assert "none of the evaluations has robustness curves" in capsys.readouterr().err
    doc["robustness"][0]["points"] = [
        {"kind": "awgn", "level": 12.0, "label": "12 dB", "metrics": {"auroc_af": {"value": v, "low": 0, "high": 1}}}
        for v in (0.8,)
    ]
    doc["robustness"][1]["points"][0].update(kind="awgn", level=12.0, metrics={"auroc_af": {"value": 0.9}})
    (second / "metrics.json").write_text(json.dumps(doc))
    doc["split"]["seed"] = 8
    for curve, value in zip(doc["robustness"], (0.6, 0.7), strict=True):
        curve["points"][0]["metrics"]["auroc_af"]["value"] = value
    (tmp_path / "split8").mkdir()
    (tmp_path / "split8" / "metrics.json").write_text(json.dumps(doc))
    curves = summaries.mean_robustness_curves([second, tmp_path / "split8"])
    assert [c["method"] for c in curves] == ["scattering + LR", "mean"]
    assert curves[0]["points"][0]["metrics"]["auroc_af"] == pytest.approx({"value": 0.7, "low": 0.6, "high": 0.8})
    assert curves[1]["points"][0]["metrics"]["auroc_af"] == pytest.approx({"value": 0.8, "low": 0.7, "high": 0.9})
    argv[2:4] = [str(second), str(tmp_path / "split8")]
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert robustness_png.read_bytes().startswith(b"\x89PNG")
    out_lines = capsys.readouterr().out.splitlines()
    assert "| 7 | -0.0415 [-0.0700, -0.0131] |" in out_lines
    assert "| 12 dB | -0.0415 | -0.0415 … -0.0415 | 0 of 2 | 2 of 2 |" in out_lines  # the tally over splits


def test_summarise_splits_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert cli.main(["summarise", "splits", str(tmp_path / "nowhere")]) == 2
    assert "metrics file not found" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text("[1, 2]")
    assert cli.main(["summarise", "splits", str(tmp_path)]) == 2
    assert "should hold a JSON object" in capsys.readouterr().err


def test_robustness_over_splits_of_multi_label_evaluations_is_macro_auroc(tmp_path: Path) -> None:
    """Several labels: the curves report macro AUROC, and the mean over splits is taken of that."""
    folders = []
    for seed, value in ((0, 0.7), (1, 0.9)):
        point = {"kind": "awgn", "level": 6.0, "label": "6 dB", "metrics": {"auroc_macro": {"value": value}}}
        doc = {"split": {"seed": seed}, "robustness": [{"method": "scattering-pool", "points": [point]}]}
        folder = tmp_path / f"split{seed}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(doc))
        folders.append(folder)
    (curve,) = summaries.mean_robustness_curves(folders)
    assert curve["points"][0]["metrics"] == {"auroc_macro": pytest.approx({"value": 0.8, "low": 0.7, "high": 0.9})}
    summaries.plot_robustness_over_splits(folders, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")


def test_a_pattern_picks_one_of_two_runs_of_a_method_on_every_split(tmp_path: Path, capsys) -> None:
    """Two runs of one method per split, whose run folders are named after the split: ``NAME [RUN*]`` selects the
    same run everywhere (the plain name takes the first), in the tables and in the robustness plot."""

    def score(value: float) -> dict:
        return {"value": value, "low": value - 0.01, "high": value + 0.01, "level": 0.95}

    def row(method: str, value: float) -> dict:
        metrics = {k: score(value) for k in summaries.SPLIT_METRICS}
        return {"method": method, "metrics": metrics, "paired": {"scattering-pool": metrics}}

    def curve(method: str, value: float) -> dict:
        point = {"kind": "awgn", "level": 6.0, "label": "6 dB", "metrics": {"auroc_af": {"value": value}}}
        return {
            "method": method,
            "difference_to": "scattering-pool",
            "points": [{**point, "difference": {"auroc_af": score(value - 0.5)}}],
        }

    folders = []
    for seed in (0, 1):
        runs = {
            f"dacl+diffaug [plain_split{seed}]": 0.6 + seed / 10,
            f"dacl+diffaug [signal_split{seed}]": 0.8 + seed / 10,
        }
        doc = {
            "split": {"seed": seed},
            "n_records": {"test": 10},
            "methods": [row("scattering-pool", 0.5)] + [row(m, v) for m, v in runs.items()],
            "robustness": [curve("scattering-pool", 0.5)] + [curve(m, v) for m, v in runs.items()],
        }
        folder = tmp_path / f"eval{seed}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(doc))
        folders.append(folder)

    assert summaries.names("dacl+diffaug [signal_split1]", "dacl+diffaug [signal*]")  # [ ] are no character class
    assert not summaries.names("dacl+diffaug [plain_split1]", "dacl+diffaug [signal*]")
    assert not summaries.names("dacl [s]", "dacl [[]")
    picked = [r.method["auroc_af"]["value"] for r in summaries.read_splits(folders, "dacl+diffaug [signal_split*]")]
    assert picked == pytest.approx([0.8, 0.9])
    first = [r.method["auroc_af"]["value"] for r in summaries.read_splits(folders, "dacl+diffaug")]
    assert first == pytest.approx([0.6, 0.7])
    table = summaries.robustness_table(folders, "dacl+diffaug [signal*]")
    assert "| 6 dB | +0.3500 | +0.3000 … +0.4000 | 2 of 2 | 0 of 2 |" in table

    drawn = [c["method"] for c in summaries.mean_robustness_curves(folders)]
    assert drawn == ["scattering + LR"]  # the runs' names differ between the splits
    curves = summaries.mean_robustness_curves(folders, methods=["dacl+diffaug [signal*]", "absent"])
    assert [c["method"] for c in curves] == ["scattering + LR", "dacl+diffaug [signal*]"]
    assert curves[1]["points"][0]["metrics"]["auroc_af"] == pytest.approx({"value": 0.85, "low": 0.8, "high": 0.9})
    same = summaries.mean_robustness_curves(folders[:1], methods=["dacl+diffaug [signal*]"])  # no second copy
    assert [c["method"] for c in same] == [
        "scattering + LR",
        "dacl+diffaug [plain_split0]",
        "dacl+diffaug [signal_split0]",
    ]
    png = tmp_path / "r.png"
    argv = [
        "summarise",
        "splits",
        *map(str, folders),
        "--method",
        "dacl+diffaug [signal*]",
        "--robustness-png",
        str(png),
    ]
    assert cli.main(argv) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "| 1 | 0.5000 | 0.5000 | 0.9000 | 0.9000 |" in capsys.readouterr().out
