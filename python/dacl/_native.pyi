"""Type stubs for the Rust extension module ``dacl._native``.

Hand-written; keep in step with ``rust/python/*.rs``. Every function
validates its inputs and raises ``ValueError``/``TypeError`` with a message
naming the problem; none of them panics. Array inputs must be C-contiguous
numpy arrays of the stated dtype (they are borrowed, not copied). Work runs
with the GIL released, on rayon threads: ``num_threads=None`` uses rayon's
global pool (all cores, or ``RAYON_NUM_THREADS``).
"""

from typing import Literal, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

# ---------------------------------------------------------------- scattering

class Scattering1D:
    """1-D wavelet scattering, numerically identical to kymatio's Scattering1D.

    ``reduction="mean"`` reproduces kymatio 0.3.0 (PyPI); ``"sum"`` reproduces
    kymatio main (0.4.0.dev), whose orders 1 and 2 differ by powers of two.
    """

    def __init__(
        self,
        J: int,
        shape: int | tuple[int],
        Q: int | tuple[int, int] = 1,
        T: int | None = None,
        max_order: int = 2,
        reduction: Literal["mean", "sum"] = "mean",
    ) -> None: ...
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
    def reduction(self) -> str: ...
    @property
    def N_padded(self) -> int: ...
    def output_size(self) -> int: ...
    def meta(self) -> dict[str, npt.NDArray[np.float64]]: ...
    def scattering(
        self, x: npt.NDArray[np.floating], num_threads: int | None = None
    ) -> npt.NDArray[np.floating]: ...
    def __call__(
        self, x: npt.NDArray[np.floating], num_threads: int | None = None
    ) -> npt.NDArray[np.floating]: ...
