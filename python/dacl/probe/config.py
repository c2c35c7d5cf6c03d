"""The ``[evaluate]`` section: what ``dacl evaluate`` scores, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from dacl.settings import at_least, check_fields, option

#: The classifiers a probe can be: standardisation + logistic regression, or an RBF-SVM.
Probe = Literal["logreg", "svm"]
PROBES: tuple[str, ...] = get_args(Probe)
#: The split whose records are scored: test, or val for model selection (:mod:`dacl.probe.selection`).
Scored = Literal["test", "val"]


@dataclass(frozen=True)
class EvaluateConfig:
    """How the frozen embeddings are probed and scored (see :func:`dacl.probe.linear.evaluate`)."""

    probe: Probe = option("logreg", "classifier on the embeddings", "--probe")
    n_boot: int = option(1000, "bootstrap resamples", "--n-boot", metavar="N")
    seed: int = option(0, "seed of the probe and the bootstrap", "--seed")
    on: Scored = option("test", "split whose records are scored: test, or val to choose hyperparameters "
                        "(the test records are removed before anything is embedded)", "--on")
    device: str = option("cpu", "device for the embedders (cpu, cuda, auto)", "--device")
    baseline_scattering: bool = option(
        False, "also evaluate the training-free baseline: pooled scattering + logistic regression",
        "--baseline-scattering")
    robustness: bool = option(
        False, "also score test records corrupted by white noise and baseline wander (re-reads the corpus)",
        "--robustness")
    corpus: str = option("", "corpus zip/folder for --robustness", "--corpus", metavar="PATH",
                         default_text="the source recorded in the dataset manifest")
    report: bool = option(True, "write report.md and plots", off="--no-report",
                          off_help="write metrics.json only, no report.md/plots")

    def __post_init__(self) -> None:
        check_fields(self, "evaluate", {"n_boot": at_least(1)})
