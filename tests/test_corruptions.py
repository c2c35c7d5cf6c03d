"""The corruptions that are not white noise: spectra where the model puts them, exact levels, seeded and pure."""

from __future__ import annotations

import numpy as np
import pytest

from dacl import corruptions as cr
from dacl import robustness as rb

FS = 300.0


def ecg_like(seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """Spiky quasi-periodic signal with a DC offset (the offset must not count as signal power)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    return 0.5 + np.sin(2 * np.pi * 1.2 * t) ** 31 + 0.05 * rng.standard_normal(t.size)


def power_spectrum(x: np.ndarray, fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed periodogram (the window keeps leakage from blurring narrow lines)."""
    x = x - x.mean()
    return np.fft.rfftfreq(x.size, 1 / fs), np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2


def share(freqs: np.ndarray, power: np.ndarray, mask: np.ndarray) -> float:
    return float(power[mask].sum() / power.sum())


SNR_CASES = [
    ("powerline50", lambda x, level, rng: cr.add_powerline(x, FS, level, rng, mains_hz=50.0)),
    ("powerline60", lambda x, level, rng: cr.add_powerline(x, FS, level, rng, mains_hz=60.0)),
    ("emg", lambda x, level, rng: cr.add_emg(x, FS, level, rng)),
    ("motion", lambda x, level, rng: cr.add_motion(x, FS, level, rng)),
    ("pink", lambda x, level, rng: cr.add_coloured_noise(x, FS, level, rng, alpha=1.0)),
    ("brown", lambda x, level, rng: cr.add_coloured_noise(x, FS, level, rng, alpha=2.0)),
]


@pytest.mark.parametrize("name,corrupt", SNR_CASES, ids=[c[0] for c in SNR_CASES])
@pytest.mark.parametrize("snr", [18.0, 6.0, 0.0, -6.0])
def test_realised_snr_equals_the_requested_one(name, corrupt, snr: float) -> None:
    x = ecg_like(seed=int(snr) + 10)
    for seed in range(3):
        y = corrupt(x, snr, np.random.default_rng(seed))
        assert cr.snr_db(x, y) == pytest.approx(snr, abs=1e-9)


@pytest.mark.parametrize("name,corrupt", SNR_CASES, ids=[c[0] for c in SNR_CASES])
def test_snr_corruptions_are_seeded_and_pure(name, corrupt) -> None:
    x = ecg_like()
    before = x.copy()
    a = corrupt(x, 6.0, np.random.default_rng(3))
    b = corrupt(x, 6.0, np.random.default_rng(3))
    c = corrupt(x, 6.0, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_powerline_power_sits_on_the_mains_harmonics(mains: float) -> None:
    x = ecg_like(60.0)
    freqs, power = power_spectrum(cr.add_powerline(x, FS, 0.0, np.random.default_rng(1), mains_hz=mains) - x)
    harmonics = [k * mains for k in range(1, 10) if k * mains < FS / 2]
    near = np.zeros_like(freqs, dtype=bool)
    for h in harmonics:
        near |= np.abs(freqs - h) <= 1.5
    assert share(freqs, power, near) > 0.99
    # The fundamental carries the most power, and every harmonic below Nyquist is present.
    at = [power[np.abs(freqs - h) <= 1.5].sum() for h in harmonics]
    assert np.argmax(at) == 0 and min(at) > 1e-3 * at[0]
    assert len(harmonics) == 2  # 50/100 Hz or 60/120 Hz at 300 Hz; 150 Hz is Nyquist and left out


def test_powerline_drifts_in_frequency_and_amplitude() -> None:
    """The line is not a fixed 50.000 Hz tone: its peak moves between records, its envelope moves within one."""
    x = ecg_like(60.0)
    peaks = []
    for seed in range(6):
        noise = cr.add_powerline(x, FS, 0.0, np.random.default_rng(seed)) - x
        freqs, power = power_spectrum(np.pad(noise, (0, 9 * noise.size)))  # zero-padded: 0.0017 Hz bins
        band = np.abs(freqs - 50) < 1
        peaks.append(freqs[band][np.argmax(power[band])])
        # Amplitude modulation: the RMS over 0.2-s blocks varies by more than a fixed tone's would.
        assert block_rms_variation(noise) > 0.02
    assert max(peaks) - min(peaks) > 0.05 and all(abs(p - 50) <= 0.25 for p in peaks)
    tone = np.sin(2 * np.pi * 50.1 * np.arange(x.size) / FS) + 0.3 * np.sin(2 * np.pi * 100.2 * np.arange(x.size) / FS)
    assert block_rms_variation(tone) < 0.005


def block_rms_variation(x: np.ndarray, block: int = 60) -> float:
    rms = np.sqrt((x[: x.size // block * block].reshape(-1, block) ** 2).mean(axis=1))
    return float(rms.std() / rms.mean())


def test_emg_is_broadband_above_20_hz_and_bursty() -> None:
    x = ecg_like(60.0)
    noise = cr.add_emg(x, FS, 0.0, np.random.default_rng(2)) - x
    freqs, power = power_spectrum(noise)
    assert share(freqs, power, freqs >= 15) > 0.97
    assert share(freqs, power, (freqs >= 20) & (freqs < 80)) > 0.3  # broad: not one line
    assert share(freqs, power, freqs >= 80) > 0.3
    # Bursts: some 0.5-s blocks are quiet, some loud.
    rms = np.sqrt((noise.reshape(-1, 150) ** 2).mean(axis=1))
    assert (rms < 0.05 * rms.max()).mean() > 0.2 and (rms > 0.3 * rms.max()).mean() > 0.05


def test_burst_envelope_is_never_empty() -> None:
    for seed in range(50):  # a 1-s record often draws "off" for its whole length
        env = cr.burst_envelope(300, FS, np.random.default_rng(seed), mean_on_s=0.2, mean_off_s=5.0)
        assert env.max() > 0.4 and env.min() >= 0 and env.max() <= 1.5 + 1e-12


def test_motion_transients_jump_then_recover_exponentially() -> None:
    rng = np.random.default_rng(5)
    art = cr.motion_transients(int(60 * FS), FS, rng, rate_hz=0.05)
    jumps = np.flatnonzero(np.abs(np.diff(art)) > 0.2 * np.abs(art).max())
    assert jumps.size >= 1
    first = jumps[0] + 1
    # Before the first event nothing; right after it a jump that decays monotonically towards 0.
    assert np.all(art[: jumps[0] + 1] == 0)
    seg = np.abs(art[first : first + int(0.1 * FS)])
    assert np.all(np.diff(seg) <= 1e-12) and seg[-1] < seg[0]
    # Mostly low-frequency power (the recovery), with a broadband onset.
    freqs, power = power_spectrum(art)
    assert share(freqs, power, freqs < 5) > 0.8


@pytest.mark.parametrize("amplitude", [0.5, 1.0, 2.0])
def test_baseline_steps_are_piecewise_constant_with_the_requested_heights(amplitude: float) -> None:
    x = ecg_like(60.0)
    steps = cr.add_baseline_steps(x, FS, amplitude, np.random.default_rng(7)) - x
    d = np.diff(steps)
    jumps = d[np.abs(d) > 1e-9 * x.std()]
    assert 1 <= jumps.size <= 30  # a handful of steps in 60 s at 0.1/s
    assert np.sqrt(np.mean(jumps**2)) == pytest.approx(amplitude * x.std(), rel=1e-9)
    assert abs(steps[0]) < 1e-12  # starts at the clean baseline
    a = cr.add_baseline_steps(x, FS, amplitude, np.random.default_rng(7))
    np.testing.assert_array_equal(a, cr.add_baseline_steps(x, FS, amplitude, np.random.default_rng(7)))


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_coloured_noise_has_a_1_over_f_alpha_spectrum(alpha: float) -> None:
    n = int(120 * FS)
    noise = cr.coloured_noise(n, FS, alpha, np.random.default_rng(11))
    freqs = np.fft.rfftfreq(n, 1 / FS)
    power = np.abs(np.fft.rfft(noise)) ** 2
    band = (freqs >= 0.5) & (freqs <= 100)
    slope = np.polyfit(np.log(freqs[band]), np.log(power[band]), 1)[0]
    assert slope == pytest.approx(-alpha, abs=0.1)
    assert abs(noise.mean()) < 1e-9 * noise.std()  # no DC component
    # White noise through the same estimator has slope ~0: the test can tell them apart.
    white = np.abs(np.fft.rfft(np.random.default_rng(11).standard_normal(n))) ** 2
    assert abs(np.polyfit(np.log(freqs[band]), np.log(white[band]), 1)[0]) < 0.1


def test_bad_inputs_are_value_errors() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="NaN"):
        cr.add_emg(np.array([0.0, np.nan, 1.0]), FS, 6, rng)
    with pytest.raises(ValueError, match="constant"):
        cr.add_powerline(np.ones(600), FS, 6, rng)
    with pytest.raises(ValueError, match="Nyquist"):
        cr.add_powerline(ecg_like(), 100.0, 6, rng, mains_hz=50.0)
    with pytest.raises(ValueError, match="fs"):
        cr.add_motion(ecg_like(), 0.0, 6, rng)
    with pytest.raises(ValueError, match="finite"):
        cr.add_coloured_noise(ecg_like(), FS, float("nan"), rng, alpha=1.0)
    with pytest.raises(ValueError, match="empty"):
        cr.band_limited_noise(100, 30.0, (20.0, 150.0), rng)


# ------------------------------------------------------- robustness wiring


def test_every_kind_is_wired_with_its_level_and_label() -> None:
    x = ecg_like()
    for c in rb.corruptions_for(["all"])[1:]:
        y = c.apply(x, FS, c.rng_for(0, 3))
        assert y.shape == x.shape and not np.array_equal(x, y)
        if c.kind in rb.SNR_KINDS:
            assert cr.snr_db(x, y) == pytest.approx(c.level, abs=1e-9)
            assert c.label.endswith(f"{c.level:g} dB")
        else:
            assert c.label == f"{c.kind} x{c.level:g}"
        # Seeded per record and corruption: the same record and corruption repeat, another record differs.
        np.testing.assert_array_equal(y, c.apply(x, FS, c.rng_for(0, 3)))
        assert not np.array_equal(y, c.apply(x, FS, c.rng_for(0, 4)))
    labels = [c.label for c in rb.corruptions_for(["all"])]
    assert len(labels) == len(set(labels))  # every point of a curve has its own label
    assert set(rb.DEFINITIONS) == set(rb.KINDS) - {"clean"}


def test_families_select_corruptions_and_the_default_is_unchanged() -> None:
    assert rb.corruptions_for() == rb.default_corruptions()
    kinds = {c.kind for c in rb.corruptions_for(["powerline", "coloured"])}
    assert kinds == {"clean", "powerline50", "powerline60", "pink", "brown"}
    assert {c.kind for c in rb.corruptions_for(["all"])} == set(rb.KINDS)
    with pytest.raises(ValueError, match="family"):
        rb.corruptions_for(["hum"])


def test_white_noise_and_wander_draw_what_they_drew_before_the_new_kinds() -> None:
    """Appending kinds must not reseed the existing ones: earlier robustness results stay reproducible."""
    x = ecg_like()
    c = rb.Corruption("awgn", 6.0)
    rng = np.random.default_rng([0, 2, 1, 6000 + 10**6])  # the seeding formula of the first release: kind code 1
    expected = x + (lambda n: n * np.sqrt(np.var(x) / 10 ** 0.6 / np.mean(n**2)))(rng.standard_normal(x.size))
    np.testing.assert_array_equal(c.apply(x, FS, c.rng_for(0, 2)), expected)
