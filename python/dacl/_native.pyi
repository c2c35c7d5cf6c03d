"""Type stubs for the Rust extension module ``dacl._native``.

Hand-written; keep in step with ``rust/python/*.rs``. Every function
validates its inputs and raises ``ValueError``/``TypeError`` with a message
naming the problem. Sizes are checked (overflow-checked arithmetic and the
bounds documented below) before anything is allocated, and memory the system
refuses raises ``MemoryError`` saying what was asked for; no call aborts the
interpreter or raises pyo3's ``PanicException`` (an internal bug would raise
``RuntimeError`` saying so). Array inputs must be C-contiguous
numpy arrays of the stated dtype (they are borrowed, not copied). Work runs
with the GIL released, on rayon threads: ``num_threads=None`` uses rayon's
global pool (all cores, or ``RAYON_NUM_THREADS``), an int in 1..256 a
dedicated pool of that size. Integer arguments take ``int`` or numpy integers;
``bool`` and ``float`` are a ``TypeError``.
"""

from collections.abc import Sequence
from typing import Any, Literal, final

import numpy as np
import numpy.typing as npt

__version__: str

__all__ = [
    "__version__",
    "Scattering1D",
    "segment",
    "segment_flat",
    "NoiseSchedule",
    "forward_noise",
    "standard_normal",
    "linear_betas",
    "cosine_betas",
    "sigmoid_betas",
]

# ---------------------------------------------------------------- scattering

@final
class Scattering1D:
    """1-D wavelet scattering, numerically identical to kymatio's Scattering1D.

    ``reduction="mean"`` reproduces kymatio 0.3.0 (PyPI); ``"sum"`` reproduces
    kymatio main (0.4.0.dev), whose orders 1 and 2 differ by powers of two.
    ``Q`` as an int means ``(Q, 1)``; ``T=None`` means ``2**J``. Needs
    ``2 <= N <= 2**22`` (4194304 samples: 3.9 h at 300 Hz), ``1 <= T <= N``,
    ``1 <= Q <= 256`` at each order, ``0 <= J <= 40``, ``max_order`` in {1, 2},
    and a float64 filter bank of at most 4 GiB (about ``Q1·(J+3)`` filters of
    ``N_padded`` values; ``J=8, Q=8`` allows N up to about 4·10**6)
    (``ValueError`` otherwise). Filters, padding and FFT plans are built once.
    """

    def __new__(
        cls,
        J: int,
        shape: int | tuple[int],
        Q: int | tuple[int] | tuple[int, int] = 1,
        T: int | None = None,
        max_order: int = 2,
        reduction: Literal["mean", "sum"] = "mean",
    ) -> Scattering1D: ...
    @property
    def J(self) -> int: ...
    @property
    def shape(self) -> tuple[int]: ...
    @property
    def Q(self) -> tuple[int, int]: ...
    @property
    def T(self) -> int: ...
    @property
    def max_order(self) -> int: ...
    @property
    def reduction(self) -> Literal["mean", "sum"]: ...
    @property
    def N_padded(self) -> int: ...
    def output_size(self) -> int:
        """Number of scattering paths P (kymatio's ``output_size()``)."""
    def meta(self) -> dict[str, Any]:
        """kymatio's ``meta()``: ``'order'`` int64 (P,); ``'xi'``, ``'sigma'``,
        ``'j'``, ``'n'`` float64 (P, max_order) padded with NaN; ``'key'`` a
        list of P tuples ``()``, ``(n1,)`` or ``(n1, n2)``."""
    def scattering(self, x: npt.NDArray[np.floating], num_threads: int | None = None) -> npt.NDArray[np.floating]:
        """Coefficients of ``x`` (..., N), float32 or float64, C-contiguous and
        finite: an array (..., P, T_out) of the input's dtype. float64 is
        computed in float64 (per-path error vs kymatio ~1e-14); float32 in
        float32 after a float64 first FFT (~3e-6 on real ECG, kymatio torch:
        ~7e-6). Paths are ordered [order 0, order 1 by n1, order 2 by (n1, n2)].
        ``num_threads`` in 1..256 uses a dedicated pool of that size.
        ``MemoryError`` if the output or a thread's workspace cannot be had."""
    def __call__(self, x: npt.NDArray[np.floating], num_threads: int | None = None) -> npt.NDArray[np.floating]:
        """Same as :meth:`scattering`."""

# ---------------------------------------------------------------- segmentation

def segment(
    signals: Sequence[npt.NDArray[np.floating]],
    fs: float,
    window: int,
    hop: int,
    *,
    tail: Literal["drop", "pad", "reflect"] = "drop",
    band: tuple[float, float] | None = None,
    band_order: int = 2,
    zscore: bool = False,
    target_fs: float | None = None,
    num_threads: int | None = None,
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cut 1-D records into fixed windows.

    Per record: resample to ``target_fs`` (``scipy.signal.resample_poly``
    with its defaults; rational ratios up/down with up, down <= 1000) →
    optional zero-phase Butterworth band-pass (as
    ``sosfiltfilt(butter(band_order, band, 'bandpass', fs=fs_out, output='sos'), x)``)
    → windows of ``window`` samples every ``hop`` samples at the output rate
    → optional per-window z-score (population std; a window with
    std <= 1e-10·max|w| becomes zeros).

    Tail: with ``"pad"``/``"reflect"`` one more window starting at
    ``n_full*hop`` is emitted iff that start is inside the signal and some
    final samples lie in no full window; it is completed with zeros or with
    ``numpy.pad(mode='reflect')`` of the record. A record shorter than one
    window gives one such window, and is a ``ValueError`` with ``"drop"``.

    Records are 1-D C-contiguous float32 or float64 arrays, all of one dtype.
    Returns ``(windows (W, window) same dtype, record_index int64 (W,),
    starts int64 (W,))``; ``starts`` are sample indices at the output rate.
    Every record is checked and its windows counted before the output is
    allocated once: a ``W × window`` beyond the address space is a
    ``ValueError``, memory the system refuses a ``MemoryError``.
    """

def segment_flat(
    buffer: npt.NDArray[np.floating],
    offsets: npt.NDArray[np.int64],
    fs: float,
    window: int,
    hop: int,
    *,
    tail: Literal["drop", "pad", "reflect"] = "drop",
    band: tuple[float, float] | None = None,
    band_order: int = 2,
    zscore: bool = False,
    target_fs: float | None = None,
    num_threads: int | None = None,
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``segment`` of records ``buffer[offsets[i]:offsets[i+1]]``; ``offsets``
    is int64 ``(R+1,)``, starts at 0, ends at ``len(buffer)``, non-decreasing."""

# ---------------------------------------------------------------- schedules

def linear_betas(timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> npt.NDArray[np.float64]:
    """Linear β schedule (Ho et al. 2020), ``numpy.linspace`` semantics."""

def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> npt.NDArray[np.float64]:
    """Cosine β schedule (Nichol & Dhariwal 2021, eq. 17), clipped to max_beta."""

def sigmoid_betas(
    timesteps: int,
    start: float = -3.0,
    end: float = 3.0,
    tau: float = 1.0,
    max_beta: float = 0.999,
) -> npt.NDArray[np.float64]:
    """Sigmoid β schedule (Jabri et al. 2022), clipped to [0, max_beta]."""

@final
class NoiseSchedule:
    """Diffusion noise schedule with forward noising.

    Parameters (keyword, per kind): linear ``beta_start=1e-4, beta_end=0.02``;
    cosine ``s=0.008, max_beta=0.999``; sigmoid ``start=-3, end=3, tau=1,
    max_beta=0.999``. Unknown parameters raise ``TypeError``. ``timesteps`` is
    in ``[1, 10**7]`` here and in the β functions (``ValueError`` otherwise).

    Arrays are float64 of length ``timesteps``; index ``t`` (0-based) is
    diffusion step ``t + 1``; ``alphas_cumprod[t] = prod(1 - betas[:t+1])``.
    """

    def __new__(
        cls, kind: Literal["linear", "cosine", "sigmoid"], timesteps: int, **params: float
    ) -> NoiseSchedule: ...
    @property
    def kind(self) -> Literal["linear", "cosine", "sigmoid"]: ...
    @property
    def timesteps(self) -> int: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def betas(self) -> npt.NDArray[np.float64]: ...
    @property
    def alphas(self) -> npt.NDArray[np.float64]: ...
    @property
    def alphas_cumprod(self) -> npt.NDArray[np.float64]: ...
    def __len__(self) -> int: ...
    def q_sample(
        self,
        z0: npt.NDArray[np.floating],
        t: npt.NDArray[np.int64],
        seed: int,
        offset: int = 0,
        num_threads: int | None = None,
    ) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]:
        """``z_t = sqrt(ᾱ_t) z0 + sqrt(1 - ᾱ_t) ε``; returns ``(z_t, eps)``.

        ``z0``: float32/float64 ``(B, D)`` C-contiguous; ``t``: int64 ``(B,)``
        → outputs ``(B, D)``, or ``(B, K)`` → outputs ``(B, K, D)`` (K noised
        views of each sample). Outputs have z0's dtype. ε of output element
        with flat index ``i`` is ``standard_normal(.., seed, offset)[i]``
        (Philox4x32-10 stream position ``offset + i``), rounded to z0's dtype;
        z_t is computed in float64 from that rounded ε. So results do not
        depend on threads, and a batch cut into chunks reproduces the whole
        when each chunk passes ``offset`` = its first element's flat index.
        ``t`` outside ``[0, timesteps)`` or a NaN/inf in ``z0`` raises
        ``ValueError``; outputs that cannot be allocated ``MemoryError``.
        """

def forward_noise(
    x0: npt.NDArray[np.floating],
    abar: npt.NDArray[np.float64],
    seed: int,
    offset: int = 0,
    num_threads: int | None = None,
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]:
    """``x_t = sqrt(abar[r]) x0[r] + sqrt(1 - abar[r]) ε``, each row ``r`` at its own level; returns ``(x_t, eps)``.

    ``NoiseSchedule.q_sample``'s noising for levels that are not steps of a
    schedule (an SNR drawn in dB, say): ``x0`` float32/float64 ``(B, D)``
    C-contiguous, ``abar`` float64 ``(B,)`` in ``[0, 1]``; outputs have x0's
    dtype and shape. ε is q_sample's (element ``i`` of the flattened output
    at Philox stream position ``offset + i`` of ``seed``, rounded to x0's
    dtype, x_t computed in float64), so a row at ``abar = alphas_cumprod[t]``
    equals ``q_sample`` at step ``t``; results do not depend on threads. A
    level outside ``[0, 1]`` (or NaN), a NaN/inf in ``x0`` or a length
    mismatch raises ``ValueError``; outputs that cannot be allocated
    ``MemoryError``.
    """

def standard_normal(shape_or_n: int | tuple[int, ...], seed: int, offset: int = 0) -> npt.NDArray[np.float64]:
    """Standard normals at Philox4x32-10 stream positions ``offset + i``
    (Box–Muller on 53-bit uniforms); ``seed`` and ``offset`` in ``[0, 2**64)``.
    At most ``2**40`` values (``ValueError`` beyond; ``MemoryError`` if they
    cannot be allocated)."""
