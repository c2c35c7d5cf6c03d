"""Corruptions of a raw recording, for the robustness curves: pure functions of ``(signal, fs, level, rng)``.

Every corruption returns a new array (its input is left alone) and the same
generator state gives the same output. ``signal`` is one lead of the raw
recording (any units) at ``fs`` Hz; the corruption is added *before* the
dataset's featuriser (:mod:`dacl.probe.robustness`), so it passes through the
same band-pass, windowing and z-scoring as the clean recording. A multi-lead
record is corrupted lead after lead with the record's one generator.

Two level definitions, each measured against the recording itself:

* **SNR in dB** for additive artefacts with a power: ``10 log10(var(x) /
  mean(n**2))``, the clean signal's variance (its DC offset is not signal) over
  the mean square of the artefact ``n`` over the whole recording. The artefact is
  rescaled to hit the level exactly (:func:`scale_to_snr`), also on short records.
* **Amplitude x std** for artefacts that are offsets rather than noise (baseline
  wander, baseline steps): the artefact's RMS (wander) or its step heights' RMS
  (steps) over the signal's standard deviation.

The SNR is nominal, on the raw recording: artefacts with power outside the
featuriser's band-pass (0.5-40 Hz by default) — mains at 50/60 Hz, most of
EMG, the lowest frequencies of brown noise — are partly removed by it, so the
in-band SNR the features see is higher. That is why the levels differ by kind
(:data:`DEFAULT_LEVELS`, set so that each kind takes the scattering baseline from
mild to severe damage on validation records).

The models, each a stylised stand-in for a recorded noise source (the noise
types of the MIT-BIH Noise Stress Test, Moody, Muldrow & Mark, Computers in
Cardiology 1984, and the simulated ECG noise of Friesen et al., "A comparison of
the noise sensitivity of nine QRS detection algorithms", IEEE Trans. Biomed. Eng.
37(1), 1990, which this module follows):

* :func:`add_white_noise` — white Gaussian noise (thermal / amplifier noise).
* :func:`add_baseline_wander` — a sum of sinusoids at 0.1-0.5 Hz (respiration,
  slow electrode drift; the NSTDB's "baseline wander").
* :func:`add_powerline` — mains interference at 50 or 60 Hz plus its harmonics
  below Nyquist (Friesen et al.'s power-line model), with a grid-frequency offset
  (+-0.2 Hz, the normal operating band of European and US grids), a slow
  frequency wobble and a slow amplitude modulation (the coupling changes as the
  patient and the cables move).
* :func:`add_emg` — muscle (EMG) artefact: Gaussian noise band-limited to
  20-150 Hz (surface EMG's band, clipped to Nyquist) switched on and off by a
  random telegraph envelope (exponential on/off durations, each burst with its
  own strength, raised-cosine edges): contractions come in bursts (Friesen et
  al.'s "muscle contraction" noise is band-limited Gaussian noise).
* :func:`add_motion` — electrode-motion transients: at Poisson times the
  electrode-skin half-cell potential jumps, then recovers exponentially as the
  interface recharges (RC recovery, time constant 0.1-0.6 s; Friesen et al.'s
  electrode contact / motion artefact: a rapid baseline transition decaying
  exponentially).
* :func:`add_baseline_steps` — abrupt baseline steps: a piecewise-constant
  offset that jumps at Poisson times and stays (an electrode re-seated, a lead or
  gain switched). The band-pass turns each step into a spike with a ~0.3 s decay.
* :func:`add_coloured_noise` — ``1/f**alpha`` noise, pink (alpha = 1) or brown
  (alpha = 2, a random walk), white noise shaped in the frequency domain (Timmer
  & Koenig, "On generating power law noise", Astron. Astrophys. 300, 1995).

:class:`Corruption` names one kind at one level; :meth:`Corruption.rng_for` seeds
each record's noise by ``(seed, record position, kind, level)``, so every method
sees the very same corrupted recordings. :data:`FAMILIES` groups the kinds for
``dacl evaluate --corruptions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WANDER_BAND_HZ: tuple[float, float] = (0.1, 0.5)
EMG_BAND_HZ: tuple[float, float] = (20.0, 150.0)
#: Normal operating band of the grid frequency around its nominal value (Hz).
MAINS_DEVIATION_HZ = 0.2


# ----------------------------------------------------------------- helpers


def _check_signal(signal: np.ndarray) -> np.ndarray:
    """``signal`` as a finite 1-D float64 array of at least 2 samples (``ValueError`` otherwise)."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"signal must be 1-D with at least 2 samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal contains NaN or inf")
    return x


def _check_fs(fs: float) -> None:
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be positive and finite, got {fs}")


def _check_level(level: float, what: str) -> None:
    if not np.isfinite(level):
        raise ValueError(f"{what} must be finite, got {level}")


def signal_power(signal: np.ndarray) -> float:
    """Power of a signal about its mean (its variance)."""
    return float(np.var(signal))


def snr_db(clean: np.ndarray, corrupted: np.ndarray) -> float:
    """Measured SNR of ``corrupted`` against ``clean``: ``10 log10(P_signal / P_noise)``."""
    noise = np.asarray(corrupted, dtype=np.float64) - np.asarray(clean, dtype=np.float64)
    return float(10 * np.log10(signal_power(clean) / np.mean(noise**2)))


def scale_to_snr(x: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    """``noise`` rescaled in place so that ``10 log10(var(x) / mean(noise**2)) == snr`` exactly."""
    _check_level(snr, "snr")
    power = signal_power(x)
    if power == 0:
        raise ValueError("cannot set an SNR for a constant signal")
    noise_power = np.mean(noise**2)
    if noise_power == 0:
        raise ValueError("the artefact is identically zero; cannot scale it to an SNR")
    noise *= np.sqrt(power / 10 ** (snr / 10) / noise_power)
    return noise


def band_limited_noise(n: int, fs: float, band: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a flat spectrum inside ``band`` (Hz, clipped to Nyquist) and none outside.

    White noise with its FFT bins outside the band set to zero.
    """
    _check_fs(fs)
    low, high = band[0], min(band[1], fs / 2)
    if not 0 <= low < high:
        raise ValueError(f"band {band} Hz is empty at fs = {fs} Hz")
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / fs)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n)


def _poisson_times(n: int, fs: float, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Sample indices of a Poisson process of ``rate_hz`` over ``n`` samples; at least one event."""
    count = max(1, int(rng.poisson(rate_hz * n / fs)))
    return np.sort(rng.integers(0, n, size=count))


# ------------------------------------------------------- white noise, wander


def add_white_noise(signal: np.ndarray, snr: float, rng: np.random.Generator) -> np.ndarray:
    """``signal`` plus white Gaussian noise at ``snr`` dB (exactly; see :func:`scale_to_snr`)."""
    x = _check_signal(signal)
    return x + scale_to_snr(x, rng.standard_normal(x.size), snr)


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
    _check_fs(fs)
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


# ---------------------------------------------------------------- powerline


def powerline(n: int, fs: float, rng: np.random.Generator, mains_hz: float = 50.0) -> np.ndarray:
    """Unscaled mains interference: the fundamental and every harmonic below Nyquist.

    ``a(t) sum_k c_k sin(k phi(t) + theta_k)`` with ``phi(t) = 2 pi f t + (df / fm) sin(2 pi fm t + psi)``:
    grid frequency ``f = mains_hz + U(-0.2, 0.2)`` Hz, a frequency wobble of peak ``df ~ U(0, 0.05)`` Hz
    at ``fm ~ U(0.05, 0.5)`` Hz, harmonic amplitudes ``c_1 = 1``, ``c_k ~ U(0.1, 0.5)`` for ``k >= 2``,
    random phases ``theta_k``, and an amplitude modulation ``a(t) = 1 + m sin(2 pi fa t + chi)``,
    ``m ~ U(0.05, 0.3)``, ``fa ~ U(0.05, 0.5)`` Hz.
    """
    _check_fs(fs)
    if not 0 < mains_hz + MAINS_DEVIATION_HZ < fs / 2:
        raise ValueError(f"mains frequency {mains_hz} Hz is not below Nyquist at fs = {fs} Hz")
    t = np.arange(n) / fs
    f = mains_hz + rng.uniform(-MAINS_DEVIATION_HZ, MAINS_DEVIATION_HZ)
    wobble_hz, wobble_peak = rng.uniform(0.05, 0.5), rng.uniform(0.0, 0.05)
    phase = 2 * np.pi * f * t + wobble_peak / wobble_hz * np.sin(2 * np.pi * wobble_hz * t + rng.uniform(0, 2 * np.pi))
    # Harmonics whose whole wobble range stays below Nyquist (no aliasing).
    n_harmonics = int((fs / 2) // (mains_hz + MAINS_DEVIATION_HZ + 0.05))
    amplitudes = np.concatenate([[1.0], rng.uniform(0.1, 0.5, size=n_harmonics - 1)])
    thetas = rng.uniform(0, 2 * np.pi, size=n_harmonics)
    wave = sum(c * np.sin(k * phase + th) for k, (c, th) in enumerate(zip(amplitudes, thetas, strict=True), start=1))
    modulation = 1 + rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
    return np.asarray(wave * modulation)


def add_powerline(
    signal: np.ndarray, fs: float, snr: float, rng: np.random.Generator, mains_hz: float = 50.0
) -> np.ndarray:
    """``signal`` plus mains interference (:func:`powerline`) at ``snr`` dB."""
    x = _check_signal(signal)
    return x + scale_to_snr(x, powerline(x.size, fs, rng, mains_hz), snr)


# ---------------------------------------------------------------------- EMG


def burst_envelope(
    n: int,
    fs: float,
    rng: np.random.Generator,
    mean_on_s: float = 0.5,
    mean_off_s: float = 1.5,
    edge_s: float = 0.05,
) -> np.ndarray:
    """A random on/off envelope in [0, 1.5]: alternating exponential on and off durations.

    The first state is "on" with probability ``mean_on / (mean_on + mean_off)`` (the stationary
    share); each burst gets its own strength ``U(0.5, 1.5)``; edges are raised-cosine ramps of
    ``edge_s`` seconds. At least one burst is always present.
    """
    _check_fs(fs)
    envelope = np.zeros(n)
    pos, on = 0, rng.random() < mean_on_s / (mean_on_s + mean_off_s)
    while pos < n:
        length = max(1, int(round(rng.exponential(mean_on_s if on else mean_off_s) * fs)))
        if on:
            envelope[pos : pos + length] = rng.uniform(0.5, 1.5)
        pos += length
        on = not on
    if not envelope.any():  # a short record drew only "off": put one burst somewhere
        length = min(n, max(1, int(round(mean_on_s * fs))))
        start = int(rng.integers(0, n - length + 1))
        envelope[start : start + length] = rng.uniform(0.5, 1.5)
    ramp = max(1, int(round(edge_s * fs)))
    if ramp > 1 and n > ramp:
        kernel = np.hanning(ramp + 2)[1:-1]
        envelope = np.convolve(envelope, kernel / kernel.sum(), mode="same")
    return envelope


def add_emg(
    signal: np.ndarray, fs: float, snr: float, rng: np.random.Generator, band: tuple[float, float] = EMG_BAND_HZ
) -> np.ndarray:
    """``signal`` plus EMG-like bursts (band-limited noise × :func:`burst_envelope`) at ``snr`` dB.

    The SNR counts the artefact's mean power over the whole recording, so during a burst
    the local SNR is lower than ``snr``.
    """
    x = _check_signal(signal)
    artefact = band_limited_noise(x.size, fs, band, rng) * burst_envelope(x.size, fs, rng)
    return x + scale_to_snr(x, artefact, snr)


# ------------------------------------------------------- electrode motion, steps


def motion_transients(
    n: int, fs: float, rng: np.random.Generator, rate_hz: float = 0.2, tau_s: tuple[float, float] = (0.1, 0.6)
) -> np.ndarray:
    """Unscaled electrode-motion artefact: ``sum_k A_k exp(-(t - t_k) / tau_k)`` for ``t >= t_k``.

    Events ``t_k`` from a Poisson process of ``rate_hz`` (at least one), jumps ``A_k ~ N(0, 1)``,
    recovery time constants ``tau_k ~ U(tau_s)``.
    """
    _check_fs(fs)
    out = np.zeros(n)
    for start in _poisson_times(n, fs, rate_hz, rng):
        tau = rng.uniform(*tau_s) * fs
        out[start:] += rng.standard_normal() * np.exp(-np.arange(n - start) / tau)
    return out


def add_motion(signal: np.ndarray, fs: float, snr: float, rng: np.random.Generator, rate_hz: float = 0.2) -> np.ndarray:
    """``signal`` plus electrode-motion transients (:func:`motion_transients`) at ``snr`` dB."""
    x = _check_signal(signal)
    return x + scale_to_snr(x, motion_transients(x.size, fs, rng, rate_hz), snr)


def baseline_steps(n: int, fs: float, height_rms: float, rng: np.random.Generator, rate_hz: float = 0.1) -> np.ndarray:
    """A piecewise-constant offset, 0 at the start, jumping at Poisson times (at least once).

    Jump heights are ``N(0, 1)`` draws rescaled so that their RMS is exactly ``height_rms``.
    """
    _check_fs(fs)
    starts = _poisson_times(n, fs, rate_hz, rng)
    starts = np.unique(np.maximum(starts, 1))  # a jump needs a "before"; one jump per sample
    heights = rng.standard_normal(starts.size)
    heights *= height_rms / np.sqrt(np.mean(heights**2))
    jumps = np.zeros(n)
    jumps[starts] = heights
    return np.cumsum(jumps)


def add_baseline_steps(
    signal: np.ndarray, fs: float, amplitude: float, rng: np.random.Generator, rate_hz: float = 0.1
) -> np.ndarray:
    """``signal`` plus baseline steps whose heights have RMS ``amplitude`` × the signal's std."""
    x = _check_signal(signal)
    _check_level(amplitude, "amplitude")
    return x + baseline_steps(x.size, fs, amplitude * np.std(x), rng, rate_hz)


# ------------------------------------------------------------ coloured noise


def coloured_noise(n: int, fs: float, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Unscaled Gaussian noise with power spectral density ``∝ 1/f**alpha`` (zero mean: no DC bin).

    White noise whose FFT bin at frequency ``f > 0`` is multiplied by ``f**(-alpha/2)``.
    """
    _check_fs(fs)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / fs)
    shape = np.zeros_like(freqs)
    shape[1:] = freqs[1:] ** (-alpha / 2)
    return np.fft.irfft(spectrum * shape, n)


def add_coloured_noise(signal: np.ndarray, fs: float, snr: float, rng: np.random.Generator, alpha: float) -> np.ndarray:
    """``signal`` plus ``1/f**alpha`` noise (:func:`coloured_noise`) at ``snr`` dB."""
    x = _check_signal(signal)
    return x + scale_to_snr(x, coloured_noise(x.size, fs, alpha, rng), snr)


# -------------------------------------------------------------- named corruptions

#: Every corruption kind, in a fixed order: a kind's position seeds its noise (see
#: :meth:`Corruption.rng_for`), so new kinds are only ever appended.
KINDS: tuple[str, ...] = (
    "clean",
    "awgn",
    "wander",
    "powerline50",
    "powerline60",
    "emg",
    "motion",
    "steps",
    "pink",
    "brown",
)
#: Kinds whose level is an SNR in dB (``wander`` and ``steps``: an amplitude relative to the signal std).
SNR_KINDS: frozenset[str] = frozenset({"awgn", "powerline50", "powerline60", "emg", "motion", "pink", "brown"})
#: What ``level`` means for each kind, as written into metrics.json.
DEFINITIONS: dict[str, str] = {
    "awgn": "white Gaussian noise; level = SNR dB, 10 log10(var(clean) / mean(noise^2)) per record and lead",
    "wander": "sum of 3 sinusoids, 0.1-0.5 Hz; level = wander RMS / signal std",
    "powerline50": "50 Hz mains + harmonics below Nyquist, +-0.2 Hz grid offset, slow frequency wobble and "
    "amplitude modulation; level = SNR dB",
    "powerline60": "as powerline50 at 60 Hz; level = SNR dB",
    "emg": "20-150 Hz band-limited Gaussian noise x random on/off burst envelope (exp. on 0.5 s / off 1.5 s); "
    "level = SNR dB over the whole record",
    "motion": "electrode-motion transients: N(0,1) jumps at Poisson times (0.2/s) with exponential recovery, "
    "tau 0.1-0.6 s; level = SNR dB",
    "steps": "abrupt baseline steps at Poisson times (0.1/s), piecewise constant; level = RMS step height / signal std",
    "pink": "1/f noise; level = SNR dB",
    "brown": "1/f^2 noise; level = SNR dB",
}
#: Corruption families for ``dacl evaluate --corruptions`` and the kinds each one runs.
FAMILIES: dict[str, tuple[str, ...]] = {
    "awgn": ("awgn",),
    "wander": ("wander",),
    "powerline": ("powerline50", "powerline60"),
    "emg": ("emg",),
    "motion": ("motion",),
    "steps": ("steps",),
    "coloured": ("pink", "brown"),
}
DEFAULT_FAMILIES: tuple[str, ...] = ("awgn", "wander")
DEFAULT_SNRS_DB: tuple[float, ...] = (24.0, 18.0, 12.0, 6.0, 0.0)
DEFAULT_WANDER_AMPLITUDES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
#: Levels of each kind. Those of the kinds training never sees were set on the scattering baseline's curve on the
#: val records of a development split (never test records), so that each takes it from mild to severe damage:
#: the nominal SNR of a kind whose power lies mostly outside the 0.5-40 Hz band must be lower to hurt as much.
DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "awgn": DEFAULT_SNRS_DB,
    "wander": DEFAULT_WANDER_AMPLITUDES,
    "powerline50": (18.0, 6.0, -6.0),
    "powerline60": (18.0, 6.0, -6.0),
    "emg": (12.0, 6.0, 0.0),
    "motion": (0.0, -6.0, -12.0),
    "steps": (2.0, 4.0, 8.0),
    "pink": (12.0, 6.0, 0.0),
    "brown": (0.0, -6.0, -12.0),
}
_LABEL_PREFIX = {
    "powerline50": "mains 50 Hz",
    "powerline60": "mains 60 Hz",
    "emg": "EMG",
    "motion": "motion",
    "pink": "pink",
    "brown": "brown",
}


@dataclass(frozen=True)
class Corruption:
    """One point of a robustness curve: ``kind`` (one of :data:`KINDS`) at ``level``.

    ``level`` is an SNR in dB for the kinds in :data:`SNR_KINDS` and an amplitude relative to
    the signal std for ``"wander"`` and ``"steps"``; see :data:`DEFINITIONS`.
    """

    kind: str
    level: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown corruption kind {self.kind!r}; known: {', '.join(KINDS)}")
        _check_level(self.level, f"the level of {self.kind}")

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return "clean"
        if self.kind == "awgn":
            return f"{self.level:g} dB"
        if self.kind in ("wander", "steps"):
            return f"{self.kind} x{self.level:g}"
        return f"{_LABEL_PREFIX[self.kind]} {self.level:g} dB"

    def apply(self, signal: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        kind, level = self.kind, self.level
        if kind == "clean":
            return _check_signal(signal)
        if kind == "awgn":
            return add_white_noise(signal, level, rng)
        if kind == "wander":
            return add_baseline_wander(signal, fs, level, rng)
        if kind in ("powerline50", "powerline60"):
            return add_powerline(signal, fs, level, rng, mains_hz=50.0 if kind == "powerline50" else 60.0)
        if kind == "emg":
            return add_emg(signal, fs, level, rng)
        if kind == "motion":
            return add_motion(signal, fs, level, rng)
        if kind == "steps":
            return add_baseline_steps(signal, fs, level, rng)
        return add_coloured_noise(signal, fs, level, rng, alpha=1.0 if kind == "pink" else 2.0)

    def rng_for(self, seed: int, position: int) -> np.random.Generator:
        """Generator for one record, independent of the order corruptions are run in."""
        kind_code = KINDS.index(self.kind)
        return np.random.default_rng([seed, position, kind_code, int(round(self.level * 1000)) + 10**6])


def default_corruptions(
    snrs_db: Sequence[float] = DEFAULT_SNRS_DB, wander: Sequence[float] = DEFAULT_WANDER_AMPLITUDES
) -> list[Corruption]:
    return [Corruption("clean")] + [Corruption("awgn", s) for s in snrs_db] + [Corruption("wander", a) for a in wander]


def parse_families(text: str) -> tuple[str, ...]:
    """``"awgn,emg"`` -> ``("awgn", "emg")``; ``"all"`` names every family (``ValueError`` for an unknown one)."""
    names = [f.strip() for f in str(text).split(",") if f.strip()]
    if not names:
        raise ValueError("no corruption family named; choose from " + ", ".join(FAMILIES) + " or all")
    if "all" in names:
        return tuple(FAMILIES)
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown corruption family {unknown[0]!r}; choose from {', '.join(FAMILIES)} or all")
    return tuple(dict.fromkeys(names))


def corruptions_for(families: Sequence[str] | str = DEFAULT_FAMILIES) -> list[Corruption]:
    """``clean`` plus every kind of the named :data:`FAMILIES` at its :data:`DEFAULT_LEVELS`.

    The default families give :func:`default_corruptions`.
    """
    names = parse_families(families if isinstance(families, str) else ",".join(families))
    return [Corruption("clean")] + [
        Corruption(kind, level) for family in names for kind in FAMILIES[family] for level in DEFAULT_LEVELS[kind]
    ]
