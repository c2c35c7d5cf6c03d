"""Markdown summaries across runs and evaluations (what ``dacl summarise`` prints).

* runs: :func:`epoch_times` reads the median seconds per epoch of every stage from a
  run's ``history.json``; :func:`epoch_time_table` lists them for a folder of runs and
  :func:`score_table` the scores of one evaluation (e.g. ``dacl evaluate --on val``), one
  row per run;
* splits: one ``dacl evaluate`` folder per record-level split, each scoring a baseline
  first and then a method; :func:`split_scores` reads the baseline's and the method's
  scores with their paired difference, :func:`splits_table` tabulates them with the mean
  and range over the splits, and :func:`robustness_table` gives the paired AF difference
  under each corruption when the folders were evaluated with ``--robustness``.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dacl.io.documents import read_json_object
from dacl.report.markdown import (
    PAPER_AF_AUROC,
    format_ci,
    paired_differences,
    point_differences,
    read_metrics,
    robustness_metric,
)
from dacl.report.plots import plot_af_by_split, plot_robustness
from dacl.training.checkpoint import HISTORY

#: The method name of the training-free baseline in metrics.json, and how tables name it.
SCATTERING = "scattering-pool"
SCATTERING_LABEL = "scattering + LR"
#: The metrics a split table shows.
SPLIT_METRICS = ("auroc_af", "auroc_macro_ovr", "f1_challenge")


@contextmanager
def _parsing(path: Path, what: str) -> Iterator[None]:
    """A document that lacks a key or holds a value of the wrong kind is a ``ValueError`` naming it."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, IndexError, statistics.StatisticsError) as err:
        raise ValueError(f"{path}: not {what} (bad or missing {err})") from None


# ------------------------------------------------------------------ runs


def epoch_times(run: Path, skip_first: bool = False) -> dict[str, tuple[int, float]]:
    """stage -> (epochs run, median seconds per epoch) of the run in ``run``.

    ``skip_first`` leaves each stage's first epoch out of the median when there are more
    (on a GPU it pays for CUDA start-up and kernel selection). A ``dacl+diffaug`` run's
    DiffAug sub-run adds its phases as ``sub-diffaug E`` / ``sub-diffaug M``.
    """
    path = Path(run) / HISTORY
    history = read_json_object(path, "run history")
    with _parsing(path, "a dacl run history"):
        times = _epoch_times(history, skip_first)
    sub = Path(run) / "diffaug"
    if (sub / HISTORY).is_file():
        times.update({f"sub-{k}": v for k, v in epoch_times(sub, skip_first).items()})
    return times


def _epoch_times(history: dict[str, Any], skip_first: bool) -> dict[str, tuple[int, float]]:
    def median(seconds: list[float]) -> float:
        return statistics.median(seconds[1:] if skip_first and len(seconds) > 1 else seconds)

    out: dict[str, tuple[int, float]] = {}
    if "epochs" in history:  # DiffAug: one row per epoch with its phase kind
        for kind in ("E", "M"):
            seconds = [float(r["seconds"]) for r in history["epochs"] if r["kind"] == kind]
            if seconds:
                out[f"diffaug {kind}"] = (len(seconds), median(seconds))
        return out
    for stage, rows in history.get("stages", {}).items():
        if rows:
            out[stage] = (len(rows), median([float(r["time_s"]) for r in rows]))
    return out


def epoch_time_table(runs: Path) -> str:
    """Median seconds per epoch of every stage of every run folder (holding a ``history.json``) in ``runs``."""
    runs = Path(runs)
    if not runs.is_dir():
        raise FileNotFoundError(f"runs folder not found: {runs}")
    lines = ["| run | stage | epochs | median s/epoch |", "|---|---|---:|---:|"]
    for run in sorted(d for d in runs.iterdir() if (d / HISTORY).is_file()):
        lines += [f"| {run.name} | {stage} | {n} | {s:.1f} |" for stage, (n, s) in epoch_times(run).items()]
    return "\n".join(lines)


def score_table(metrics: Path) -> str:
    """The AF, macro and F1 scores of every method of one evaluation, named by its run folder."""
    folder, doc = read_metrics(Path(metrics))
    lines = [f"| run ({doc.get('scored_split', 'test')} split) | AUROC AF | macro AUROC | F1 |", "|---|---:|---:|---:|"]
    with _parsing(folder / "metrics.json", "a dacl evaluate result"):
        for m in doc.get("methods", []):
            name = Path(m["run_dir"]).name if m.get("run_dir") else m["method"]
            values = [float(m["metrics"][k]["value"]) for k in SPLIT_METRICS]
            lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- splits


@dataclass(frozen=True)
class SplitScores:
    """One split's evaluation: the baseline's and the method's estimates (as stored) and their paired difference."""

    seed: int
    n_test: int
    baseline: dict[str, dict[str, float]]
    method: dict[str, dict[str, float]] | None = None
    difference: dict[str, dict[str, float]] | None = None


def label(name: str) -> str:
    """How tables name a method (the scattering baseline by what it is)."""
    return SCATTERING_LABEL if name == SCATTERING else name


def names(method: str, pattern: str) -> bool:
    """Whether ``pattern`` names ``method``: exactly, as ``name`` of ``name [run]`` (two runs shared a name), or
    with ``*`` for any text, e.g. ``dacl+diffaug [robust*]`` picks one of two runs on every split although each
    split's run folder has its own name."""
    if method == pattern or method.startswith(pattern + " ["):
        return True
    return "*" in pattern and re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), method) is not None


def _named(rows: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The first row that ``name`` names (see :func:`names`)."""
    return next((r for r in rows if names(r["method"], name)), None)


def split_scores(evaluation: Path, method: str, baseline: str = SCATTERING) -> SplitScores:
    """The scores of ``baseline`` and ``method`` in one ``dacl evaluate`` folder, with their paired difference."""
    folder, doc = read_metrics(Path(evaluation))
    with _parsing(folder / "metrics.json", "a dacl evaluate result"):
        return _split_scores(folder, doc, method, baseline)


def _split_scores(folder: Path, doc: dict[str, Any], method: str, baseline: str) -> SplitScores:
    base = _named(doc["methods"], baseline)
    if base is None:
        hint = "evaluate with --baseline-scattering" if baseline == SCATTERING else f"evaluate a {baseline} run first"
        raise ValueError(f"{folder}: no {baseline} row; {hint}")
    seed, n_test = int(doc["split"]["seed"]), int(doc["n_records"]["test"])
    scores = SplitScores(seed, n_test, {k: base["metrics"][k] for k in SPLIT_METRICS})
    other = _named(doc["methods"], method)
    if other is None:
        return scores
    diff = paired_differences(other).get(base["method"])
    if diff is None:
        raise ValueError(f"{folder}: {method} has no paired difference to {baseline} (evaluate {baseline} first)")
    return SplitScores(
        seed,
        n_test,
        scores.baseline,
        {k: other["metrics"][k] for k in SPLIT_METRICS},
        {k: diff[k] for k in SPLIT_METRICS},
    )


def read_splits(evaluations: Sequence[Path], method: str, baseline: str = SCATTERING) -> list[SplitScores]:
    """:func:`split_scores` of every evaluation folder, by split seed."""
    return sorted((split_scores(e, method, baseline) for e in evaluations), key=lambda r: r.seed)


def splits_table(rows: Sequence[SplitScores], method: str, baseline: str = SCATTERING) -> str:
    """One row per split (by seed): AF and macro of both, the paired differences; then mean and range of each."""
    m, b = method, label(baseline)
    lines = [
        f"| split seed | {b}: AF | macro | {m}: AF | macro | Δ AF ({m} − {b}) | Δ macro |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: r.seed):
        cells = [str(r.seed), *(f"{r.baseline[k]['value']:.4f}" for k in SPLIT_METRICS[:2])]
        if r.method is not None and r.difference is not None:
            cells += [f"{r.method[k]['value']:.4f}" for k in SPLIT_METRICS[:2]]
            cells += [format_ci(r.difference[k], signed=True) for k in SPLIT_METRICS[:2]]
        else:
            cells += ["—"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, column in ((b, "baseline"), (m, "method"), (f"Δ {m} − {b}", "difference")):
        have = [getattr(r, column) for r in rows if getattr(r, column) is not None]
        f = "+.4f" if column == "difference" else ".4f"
        for metric in SPLIT_METRICS[:2]:
            values = [h[metric]["value"] for h in have]
            if values:
                line = (
                    f"- {name}, {metric}: mean {statistics.fmean(values):{f}} over {len(values)} splits, "
                    f"range {min(values):{f}} … {max(values):{f}}"
                )
                if column == "difference":
                    above = sum(h[metric]["low"] > 0 for h in have)
                    below = sum(h[metric]["high"] < 0 for h in have)
                    line += f"; 95 % CI above 0 on {above}, below 0 on {below}"
                lines.append(line)
    return "\n".join(lines)


def plot_splits(rows: Sequence[SplitScores], method: str, path: Path, baseline: str = SCATTERING) -> None:
    """AF AUROC with its 95 % CI per split, the baseline and ``method`` side by side, and the paper's figure."""
    series = {
        label(baseline): [(r.seed, r.baseline["auroc_af"]) for r in rows],
        method: [(r.seed, r.method["auroc_af"]) for r in rows if r.method is not None],
    }
    plot_af_by_split(series, [r.n_test for r in rows], Path(path), paper_af=PAPER_AF_AUROC)


def robustness_differences(
    evaluation: Path, method: str, baseline: str = SCATTERING
) -> tuple[int, dict[str, dict[str, float]]] | None:
    """(split seed, {corruption: paired AF difference to ``baseline``}) of ``method``'s robustness curve, if any."""
    folder, doc = read_metrics(Path(evaluation))
    with _parsing(folder / "metrics.json", "a dacl evaluate result"):
        curves = doc.get("robustness") or []
        base = _named(curves, baseline)
        for curve in curves:
            if base is not None and _named([curve], method) is not None:
                diffs = {p["label"]: point_differences(curve, p).get(base["method"]) for p in curve["points"]}
                if any(d is not None for d in diffs.values()):
                    return int(doc["split"]["seed"]), {k: d["auroc_af"] for k, d in diffs.items() if d is not None}
    return None


def robustness_table(evaluations: Sequence[Path], method: str, baseline: str = SCATTERING) -> str:
    """Per split, ``method``'s paired AF difference to the baseline under each corruption ("" without curves)."""
    found = sorted(
        (r for r in (robustness_differences(e, method, baseline) for e in evaluations) if r is not None),
        key=lambda r: r[0],
    )
    if not found:
        return ""
    corruptions = list(found[0][1])
    lines = [
        f"Δ AUROC AF ({method} − {label(baseline)}) under each corruption, paired over the same corrupted "
        "test records:",
        "",
        "| split seed | " + " | ".join(corruptions) + " |",
        "|---|" + "---|" * len(corruptions),
    ]
    lines += [
        f"| {seed} | " + " | ".join(format_ci(diffs.get(c), signed=True) for c in corruptions) + " |"
        for seed, diffs in found
    ]
    return "\n".join([*lines, "", *_tally(found, corruptions)])


def _tally(found: list[tuple[int, dict[str, dict[str, float]]]], corruptions: list[str]) -> list[str]:
    """Per corruption over the splits: the mean and range of the difference, and on how many splits its 95 % CI
    lies above 0 (significantly better) or below 0 (significantly worse)."""
    lines = [
        "Over the splits:",
        "",
        "| corruption | mean Δ | range | CI above 0 | CI below 0 |",
        "|---|---|---|---|---|",
    ]
    for c in corruptions:
        diffs = [d[c] for _, d in found if c in d]
        values = [d["value"] for d in diffs]
        above, below = sum(d["low"] > 0 for d in diffs), sum(d["high"] < 0 for d in diffs)
        lines.append(
            f"| {c} | {statistics.fmean(values):+.4f} | {min(values):+.4f} … {max(values):+.4f} | "
            f"{above} of {len(diffs)} | {below} of {len(diffs)} |"
        )
    return lines


def mean_robustness_curves(
    evaluations: Sequence[Path], metric: str | None = None, methods: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The robustness curve of every method that all ``evaluations`` (one per split) scored, and of each of
    ``methods`` (names or patterns, see :func:`names`) that names a curve in every one of them, as
    :func:`~dacl.report.plots.plot_robustness` draws them: each point's ``metric`` (default: the curves' own,
    AF AUROC or macro AUROC for several labels) is the mean over the splits, its ``low`` and ``high`` the lowest
    and highest split."""
    curves_of_split, per_split = [], []
    for evaluation in evaluations:
        folder, doc = read_metrics(Path(evaluation))
        with _parsing(folder / "metrics.json", "a dacl evaluate result"):
            curves = doc.get("robustness") or []
            per_split.append({c["method"]: c["points"] for c in curves})
            curves_of_split.append(curves)
    common = [m for m in per_split[0] if all(m in split for split in per_split)] if per_split else []
    for pattern in methods:
        found = [f for f in (_named(curves, pattern) for curves in curves_of_split) if f is not None]
        # drawn when it names a curve on every split, unless those are curves drawn already
        if found and len(found) == len(per_split) and not {f["method"] for f in found} <= set(common):
            for split, f in zip(per_split, found, strict=True):
                split[pattern] = f["points"]
            common.append(pattern)
    if not common:
        return []
    with _parsing(Path(evaluations[0]) / "metrics.json", "a dacl evaluate result"):
        return _mean_curves(per_split, common, metric or robustness_metric([{"points": per_split[0][common[0]]}]))


def _mean_curves(per_split: list[dict[str, Any]], methods: list[str], metric: str) -> list[dict[str, Any]]:
    """Each of ``methods``' curve: per point, the mean, lowest and highest ``metric`` over the splits."""
    curves = []
    for method in methods:
        points = per_split[0][method]
        out = []
        for p in points:
            values = [
                q["metrics"][metric]["value"] for split in per_split for q in split[method] if q["label"] == p["label"]
            ]
            if len(values) == len(per_split):
                estimate = {"value": statistics.fmean(values), "low": min(values), "high": max(values)}
                out.append({**{k: p[k] for k in ("kind", "level", "label")}, "metrics": {metric: estimate}})
        curves.append({"method": label(method), "points": out})
    return curves


def plot_robustness_over_splits(evaluations: Sequence[Path], path: Path, methods: Sequence[str] = ()) -> None:
    """AF AUROC (macro AUROC for several labels) under each corruption, mean over the splits with the range of
    the splits shaded; every method all splits scored, and ``methods`` (see :func:`mean_robustness_curves`)."""
    curves = mean_robustness_curves(evaluations, methods=methods)
    if not curves:
        raise ValueError("none of the evaluations has robustness curves (evaluate with --robustness)")
    title = f"Clean-trained probe on corrupted test records, mean over {len(evaluations)} splits (band: their range)"
    plot_robustness(curves, Path(path), metric=robustness_metric(curves), title=title)
