"""The evaluation a dataset calls for: the CinC 2017 protocol for CinC 2017's four classes, the PTB-XL benchmark
protocol (per label) for any other labels; and the checks that a run may be probed on a dataset at all."""

from __future__ import annotations

from dacl.embedding.embedder import Embedder
from dacl.features import FeatureSet
from dacl.probe import linear, multilabel
from dacl.probe.metrics import Estimate


def check_leads(embedder: Embedder, features: FeatureSet) -> None:
    """A run trained on some leads embeds only datasets of the same leads, in the same order."""
    leads = getattr(embedder, "leads", None)
    if leads is not None and tuple(leads) != tuple(features.leads):
        raise ValueError(
            f"{embedder.name} was trained on leads {','.join(leads)}, the dataset has "
            f"{','.join(features.leads)}; preprocess it with --leads {','.join(leads)}"
        )


def evaluate(
    features: FeatureSet,
    embedder: Embedder,
    *,
    probe: str = "logreg",
    seed: int = 0,
    n_boot: int = 1000,
    method: str | None = None,
) -> linear.EvalResult:
    """Probe ``embedder`` on ``features`` with the protocol of the dataset's task."""
    check_leads(embedder, features)
    if features.task == "none":
        raise ValueError(
            "the dataset's records carry no labels (task 'none'): there is nothing to probe; "
            "evaluate the run on a labelled dataset of the same leads"
        )
    run = linear.evaluate if linear.is_cinc2017(features) else multilabel.evaluate_multilabel
    return run(features, embedder, probe=probe, seed=seed, n_boot=n_boot, method=method)


def compare(a: linear.EvalResult, b: linear.EvalResult, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Estimate]:
    """``a - b`` for every metric, paired over the test records both were scored on."""
    if a.protocol != "per-label":
        return linear.compare_results(a, b, n_boot=n_boot, seed=seed)
    if list(a.test_record_ids) != list(b.test_record_ids) or a.labels != b.labels:
        raise ValueError(
            f"{a.method} and {b.method} were not scored on the same test records and labels; cannot pair them"
        )
    diff = multilabel.paired_macro_difference(a.test_labels, a.test_probs, b.test_probs, n_boot=n_boot, seed=seed)
    return {multilabel.MACRO: diff}
