"""dacl: noise-robust ECG representation learning.

A Rust core (``dacl._native``) for kymatio-exact wavelet scattering,
segmentation and diffusion noise schedules; PyTorch for DACL and DiffAug.
"""

from dacl._native import __version__ as _native_version  # noqa: F401
from dacl._native import (
    NoiseSchedule,
    Scattering1D,
    cosine_betas,
    linear_betas,
    segment,
    segment_flat,
    sigmoid_betas,
    standard_normal,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "NoiseSchedule",
    "Scattering1D",
    "cosine_betas",
    "linear_betas",
    "segment",
    "segment_flat",
    "sigmoid_betas",
    "standard_normal",
]
