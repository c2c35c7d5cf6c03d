"""Corruptions of a raw recording, for the robustness curves: pure functions of ``(signal, level, rng)``.

Two kinds, each at increasing strength:

* additive white Gaussian noise at a set SNR, the SNR measured per record
  against that record's clean signal power (variance: the DC offset of a
  recording is not signal);
* baseline wander: a sum of low-frequency sinusoids (0.1–0.5 Hz, the band of
  respiration and electrode motion; cf. the MIT-BIH Noise Stress Test, Moody
  et al. 1984) with an RMS set relative to the record's standard deviation.

:meth:`Corruption.rng_for` seeds each record's noise by ``(seed, record position,
corruption)``, so every method sees the very same corrupted recordings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_SNRS_DB: tuple[float, ...] = (24.0, 18.0, 12.0, 6.0, 0.0)
DEFAULT_WANDER_AMPLITUDES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
WANDER_BAND_HZ: tuple[float, float] = (0.1, 0.5)


def _check_signal(signal: np.ndarray) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"signal must be 1-D with at least 2 samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal contains NaN or inf")
    return x


def signal_power(signal: np.ndarray) -> float:
    """Power of a signal about its mean (its variance)."""
    return float(np.var(signal))


def snr_db(clean: np.ndarray, corrupted: np.ndarray) -> float:
    """Measured SNR of ``corrupted`` against ``clean``: ``10 log10(P_signal / P_noise)``."""
    noise = np.asarray(corrupted, dtype=np.float64) - np.asarray(clean, dtype=np.float64)
    return float(10 * np.log10(signal_power(clean) / np.mean(noise**2)))


def add_white_noise(signal: np.ndarray, snr: float, rng: np.random.Generator) -> np.ndarray:
    """``signal`` plus white Gaussian noise of power ``P_signal / 10**(snr/10)``.

    The noise is rescaled to exactly that power, so the realised SNR equals
    ``snr`` rather than scattering around it for short records.
    """
    x = _check_signal(signal)
    power = signal_power(x)
    if power == 0:
        raise ValueError("cannot set an SNR for a constant signal")
    noise = rng.standard_normal(x.size)
    noise *= np.sqrt(power / 10 ** (snr / 10) / np.mean(noise**2))
    return x + noise


def baseline_wander(
    n: int,
    fs: float,
    rms: float,
    rng: np.random.Generator,
    n_components: int = 3,
    band: tuple[float, float] = WANDER_BAND_HZ,
) -> np.ndarray:
    """A sum of ``n_components`` sinusoids with random frequencies in ``band`` (Hz),
    random phases and random relative amplitudes, scaled to RMS ``rms``."""
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs}")
    if not 0 < band[0] <= band[1] < fs / 2:
        raise ValueError(f"band {band} Hz must lie in (0, fs/2)")
    t = np.arange(n) / fs
    freqs = rng.uniform(*band, size=n_components)
    phases = rng.uniform(0, 2 * np.pi, size=n_components)
    amps = rng.uniform(0.5, 1.0, size=n_components)
    wave = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    wave_rms = np.sqrt(np.mean(wave**2))
    return wave * (rms / wave_rms) if wave_rms > 0 else wave


def add_baseline_wander(
    signal: np.ndarray, fs: float, amplitude: float, rng: np.random.Generator, n_components: int = 3
) -> np.ndarray:
    """``signal`` plus baseline wander whose RMS is ``amplitude`` × the signal's std."""
    x = _check_signal(signal)
    return x + baseline_wander(x.size, fs, amplitude * np.std(x), rng, n_components)


@dataclass(frozen=True)
class Corruption:
    """One point of a robustness curve: ``kind`` at ``level``.

    ``kind`` is ``"clean"``, ``"awgn"`` (``level`` = SNR in dB) or ``"wander"``
    (``level`` = wander RMS relative to the signal std).
    """

    kind: str
    level: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("clean", "awgn", "wander"):
            raise ValueError(f"unknown corruption kind {self.kind!r}")

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return "clean"
        return f"{self.level:g} dB" if self.kind == "awgn" else f"wander x{self.level:g}"

    def apply(self, signal: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "clean":
            return _check_signal(signal)
        if self.kind == "awgn":
            return add_white_noise(signal, self.level, rng)
        return add_baseline_wander(signal, fs, self.level, rng)

    def rng_for(self, seed: int, position: int) -> np.random.Generator:
        """Generator for one record, independent of the order corruptions are run in."""
        kind_code = ("clean", "awgn", "wander").index(self.kind)
        return np.random.default_rng([seed, position, kind_code, int(round(self.level * 1000)) + 10**6])


def default_corruptions(
    snrs_db: Sequence[float] = DEFAULT_SNRS_DB, wander: Sequence[float] = DEFAULT_WANDER_AMPLITUDES
) -> list[Corruption]:
    return [Corruption("clean")] + [Corruption("awgn", s) for s in snrs_db] + [Corruption("wander", a) for a in wander]
