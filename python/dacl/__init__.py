"""dacl: noise-robust ECG representation learning.

A Rust core (``dacl._native``) for kymatio-exact wavelet scattering,
segmentation and diffusion noise schedules; PyTorch for DACL and DiffAug.
"""

from dacl._native import (
    NoiseSchedule,
    Scattering1D,
    __version__,
    cosine_betas,
    forward_noise,
    linear_betas,
    segment,
    segment_flat,
    sigmoid_betas,
    standard_normal,
)
from dacl.corpus import Record, RecordError, open_corpus
from dacl.corpus.cinc2017 import CLASSES
from dacl.features import FeatureSet, PreprocessConfig, load_features, preprocess

__all__ = [
    "__version__",
    "CLASSES",
    "FeatureSet",
    "PreprocessConfig",
    "Record",
    "RecordError",
    "load_features",
    "open_corpus",
    "preprocess",
    "NoiseSchedule",
    "Scattering1D",
    "cosine_betas",
    "forward_noise",
    "linear_betas",
    "segment",
    "segment_flat",
    "sigmoid_betas",
    "standard_normal",
]
