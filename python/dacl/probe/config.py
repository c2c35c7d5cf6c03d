"""The ``[evaluate]`` section: what ``dacl evaluate`` scores, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from dacl.probe.corruptions import DEFAULT_FAMILIES, FAMILIES, parse_families
from dacl.settings import at_least, check_fields, option

#: The noise of the noise-augmented baseline's training copies: SNR (dB) drawn uniformly from this range.
NOISE_AUGMENTATION_SNR_DB: tuple[float, float] = (0.0, 24.0)
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
    on: Scored = option(
        "test",
        "split whose records are scored: test, or val to choose hyperparameters "
        "(the test records are removed before anything is embedded)",
        "--on",
    )
    device: str = option("cpu", "device for the embedders (cpu, cuda, auto)", "--device")
    baseline_scattering: bool = option(
        False,
        "also evaluate the training-free baseline: pooled scattering + logistic regression",
        "--baseline-scattering",
    )
    baseline_scattering_noise: bool = option(
        False,
        "also evaluate the noise-augmented baseline: pooled scattering + logistic regression whose probe "
        "is trained on the clean train windows plus noisy copies of every train record (white noise on the raw "
        "record, SNR ~ U(0, 24) dB, featurised like the dataset; re-reads the corpus)",
        "--baseline-scattering-noise",
    )
    noise_copies: int = option(
        1, "noisy copies per train record for --baseline-scattering-noise", "--noise-copies", metavar="N"
    )
    robustness: bool = option(
        False, "also score test records corrupted by the --corruptions families (re-reads the corpus)", "--robustness"
    )
    corruptions: str = option(
        ",".join(DEFAULT_FAMILIES),
        f"corruption families for --robustness, comma-separated: {', '.join(FAMILIES)}, or all (powerline: 50 and "
        "60 Hz mains with harmonics; emg: muscle bursts; motion: electrode-motion transients; steps: baseline "
        "steps; coloured: pink and brown noise)",
        "--corruptions",
        metavar="FAMILY[,FAMILY...]",
    )
    corpus: str = option(
        "",
        "corpus zip/folder for --robustness and --baseline-scattering-noise",
        "--corpus",
        metavar="PATH",
        default_text="the source recorded in the dataset manifest",
    )
    report: bool = option(
        True, "write report.md and plots", off="--no-report", off_help="write metrics.json only, no report.md/plots"
    )

    def __post_init__(self) -> None:
        check_fields(self, "evaluate", {"n_boot": at_least(1), "noise_copies": at_least(1)})
        parse_families(self.corruptions)  # an unknown family fails before any work
