"""``dacl evaluate``: probe the frozen embeddings of runs (and the scattering baseline); write metrics and a report."""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dacl.cli.experiment import add_config_arguments, load_experiment
from dacl.features import FeatureSet, featureset
from dacl.probe.config import NOISE_AUGMENTATION_SNR_DB, EvaluateConfig
from dacl.settings import add_options, given_options
from dacl.training.methods import METHODS

if TYPE_CHECKING:  # annotations only: importing these costs seconds (torch, sklearn)
    from dacl.embedding.embedder import Embedder
    from dacl.probe.linear import EvalResult
    from dacl.probe.robustness import RobustnessCurve

#: The name of the noise-augmented scattering baseline in every table.
NOISE_BASELINE = "scattering-pool + noise-aug"
HELP = "probe frozen embeddings: AUROC with CIs, F1, robustness; write a report"
T = TypeVar("T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run directories written by `dacl train`")
    parser.add_argument("--features", required=True, metavar="DATASET_DIR", help="features dataset (`dacl preprocess`)")
    parser.add_argument("--out", default="report", metavar="REPORT_DIR", help="output folder (default: report)")
    add_config_arguments(parser, example="evaluate.n_boot=200")
    add_options(parser, [("evaluate", EvaluateConfig)])


def run(args: argparse.Namespace) -> int:
    from dacl.io.lock import WriterLock

    # One writer per report folder, refused at once rather than after the work; merging into it
    # (`dacl report --methods-from`) takes the same lock. It lies beside the folder, which only the
    # finished results create.
    with WriterLock(args.out, "evaluation"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from dacl.probe.results import write_results

    settings = load_experiment(args.config, args.overrides, {"evaluate": given_options(args, "evaluate")}).evaluate()
    if not args.runs and not settings.baseline_scattering and not settings.baseline_scattering_noise:
        raise ValueError("nothing to evaluate: give RUN_DIR(s) and/or --baseline-scattering[-noise]")
    features = featureset.load_features(args.features)
    if settings.on == "val":
        from dacl.probe.selection import validation_view

        features = validation_view(features)  # before anything is embedded: the test records are gone
    embedders = _embedders([Path(r) for r in args.runs], settings)
    results = [
        _evaluate(features, emb, extra, label, settings)
        for (emb, extra), label in zip(embedders, _labels(embedders, settings), strict=True)
    ]
    if len(results) > 1:
        _compare(results, settings)
    curves = _robustness(results, [e for e, _ in embedders], features, settings) if settings.robustness else None
    path = write_results(args.out, results, features, str(args.features), curves)
    print(f"wrote {path}")
    if settings.report:
        from dacl.report.markdown import write_report

        print(f"wrote {write_report(args.out)}")
    return 0


def run_t_max(run_dir: Path) -> Any:
    """``diffusion.t_max`` of the run's config.toml (``None`` when it has no config or no t_max)."""
    path = run_dir / "config.toml"
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid TOML ({err})") from None
    diffusion = config.get("diffusion")
    return diffusion.get("t_max") if isinstance(diffusion, dict) else None


def _embedders(runs: list[Path], settings: EvaluateConfig) -> list[tuple[Embedder, dict[str, Any]]]:
    """The baseline (if asked for) and each run's embedder, with what the results record about it."""
    from dacl.embedding import embedder as embedders_module
    from dacl.embedding.baselines import ScatteringPoolEmbedder

    embedders: list[tuple[Embedder, dict[str, Any]]] = []
    if settings.baseline_scattering:
        embedders.append((ScatteringPoolEmbedder(), {"run_dir": None}))
    if settings.baseline_scattering_noise:
        noisy = ScatteringPoolEmbedder()
        noisy.name = NOISE_BASELINE
        low, high = NOISE_AUGMENTATION_SNR_DB
        embedders.append(
            (
                noisy,
                {
                    "run_dir": None,
                    "noise_augmentation": {
                        "noise": "white, on the raw record, featurised like the dataset",
                        "snr_db": [low, high],
                        "copies": settings.noise_copies,
                        "seed": settings.seed,
                    },
                },
            )
        )
    for run_dir in runs:
        if not run_dir.is_dir():
            raise FileNotFoundError(f"run directory not found: {run_dir}")
        emb = embedders_module.load_embedder(run_dir, device=settings.device)
        # Only methods whose views come from the diffusion forward process have a t_max;
        # the other configs carry the [diffusion] section unused.
        method = METHODS.get(emb.name)
        t_max = run_t_max(run_dir) if method is not None and method.has_t_max else None
        embedders.append((emb, {"run_dir": str(run_dir), "t_max": t_max}))
    return embedders


def _labels(embedders: list[tuple[Embedder, dict[str, Any]]], settings: EvaluateConfig) -> list[str]:
    """Each embedder's name in the results: its run's folder added when two share a name, the probe when not logreg."""
    names = [e.name for e, _ in embedders]
    labels = []
    for emb, extra in embedders:
        label = emb.name
        if names.count(emb.name) > 1 and extra["run_dir"]:
            label = f"{emb.name} [{Path(extra['run_dir']).name}]"
        labels.append(label if settings.probe == "logreg" else f"{label} ({settings.probe})")
    return labels


def _evaluate(
    features: FeatureSet, emb: Embedder, extra: dict[str, Any], label: str, settings: EvaluateConfig
) -> EvalResult:
    from dacl.probe.protocol import evaluate

    print(f"evaluating {label} ...", flush=True)
    if "noise_augmentation" in extra:
        features = _noise_augmented(features, settings)
    r = evaluate(features, emb, probe=settings.probe, seed=settings.seed, n_boot=settings.n_boot, method=label)
    r.extra.update({k: v for k, v in extra.items() if v is not None})
    print(f"  {_summary(r)}  ({r.n_records['test']} test records)", flush=True)
    return r


def _noise_augmented(features: FeatureSet, settings: EvaluateConfig) -> FeatureSet:
    """``features`` plus the noisy copies of the train windows that the noise-augmented probe also learns."""
    from dacl.views.signal import NoiseLevels, noise_augmented

    low, high = NOISE_AUGMENTATION_SNR_DB
    print(
        f"  featurising {settings.noise_copies} noisy cop{'y' if settings.noise_copies == 1 else 'ies'} of the "
        f"train records (white noise, SNR ~ U({low:g}, {high:g}) dB) ...",
        flush=True,
    )
    return noise_augmented(
        features,
        NoiseLevels("snr", snr_low=low, snr_high=high),
        seed=settings.seed,
        copies=settings.noise_copies,
        corpus=settings.corpus or None,
    )


def _summary(r: EvalResult, diff: dict[str, Any] | None = None) -> str:
    """One line of a result's headline metrics (or of its differences ``diff`` to another result)."""
    from dacl.probe.linear import format_estimate

    m, signed = (r.metrics, False) if diff is None else (diff, True)
    if r.protocol == "per-label":
        return f"macro AUROC over {len(r.label_estimates)} labels {format_estimate(m['auroc_macro'], signed)}"
    line = (
        f"AUROC AF {format_estimate(m['auroc_af'], signed)}  macro {format_estimate(m['auroc_macro_ovr'], signed)}"
        f"  F1 {format_estimate(m['f1_challenge'], signed)}"
    )
    return line if diff is not None else f"{line}  5-NN acc {r.knn_accuracy:.4f}"


def _pairings(items: list[T], methods: list[str]) -> Iterator[tuple[T, list[T], bool]]:
    """``(reference, the items paired with it, whether it is the first)`` for each reference: the first method,
    then the noise-augmented baseline when it is evaluated too.

    Every table carries the noise-augmented baseline because it is the bar a noise-robust representation
    has to clear (augmentation plus a linear probe); the first method stays the report's reference.
    """
    for i in [0, *(i for i, m in enumerate(methods) if i > 0 and m == NOISE_BASELINE)]:
        yield items[i], [x for x in items[1:] if x is not items[i]], i == 0


def _compare(results: list[EvalResult], settings: EvaluateConfig) -> None:
    """Each result's paired difference to the first (the baseline when it is evaluated) and to the
    noise-augmented baseline when that is evaluated too."""
    from dacl.probe.protocol import compare

    for reference, others, first in _pairings(results, [r.method for r in results]):
        print(f"difference to {reference.method} (paired bootstrap over the same test records):")
        for r in others:
            diff = compare(r, reference, n_boot=settings.n_boot, seed=settings.seed)
            stored = {"method": reference.method, **{k: v.to_dict() for k, v in diff.items()}}
            r.extra.setdefault("paired", {})[reference.method] = stored
            if first:
                r.extra["difference_to"] = stored
            print(f"  {r.method}: {_summary(r, diff)}", flush=True)


def _robustness(
    results: list[EvalResult], embedders: list[Embedder], features: FeatureSet, settings: EvaluateConfig
) -> list[dict[str, Any]]:
    """Every result's robustness curve, each paired with the first's."""
    from dacl.probe import robustness
    from dacl.probe.corruptions import corruptions_for

    corpus = settings.corpus or robustness.manifest_corpus(features.manifest)
    corruptions = corruptions_for(settings.corruptions)
    print(
        f"robustness of {len(results)} method(s) under {len(corruptions)} corruption(s), each featurised once ...",
        flush=True,
    )
    curves = robustness.curves_for_results(
        results, embedders, features, seed=settings.seed, n_boot=settings.n_boot, corruptions=corruptions, corpus=corpus
    )
    if len(curves) > 1:
        _pair_curves(curves)
    return [c.to_dict() for c in curves]


def _pair_curves(curves: list[RobustnessCurve]) -> None:
    from dacl.probe.linear import format_estimate
    from dacl.probe.robustness import add_paired_differences

    key = "auroc_af" if "auroc_af" in curves[0].points[0].metrics else "auroc_macro"
    name = "AF AUROC" if key == "auroc_af" else "macro AUROC"
    for reference, others, first in _pairings(curves, [c.method for c in curves]):
        print(f"robustness, {name} difference to {reference.method} (paired over the same corrupted records):")
        for curve in others:
            add_paired_differences(curve, reference, primary=first)
            cells = [
                f"{p.corruption.label} {format_estimate(p.paired[reference.method][key], signed=True)}"
                for p in curve.points
                if reference.method in p.paired
            ]
            print(f"  {curve.method}: " + "; ".join(cells), flush=True)
