"""Windows and scattering features, on disk.

``featurizer`` (records -> windows -> scattering, :class:`PreprocessConfig`),
``build`` (the resumable :func:`preprocess`), ``store`` (the dataset's files),
``featureset`` (:class:`FeatureSet`, :func:`load_features`), ``split``
(record-level splits) and ``context`` (the parameter-free contextualisation).
"""

from dacl.features.build import preprocess
from dacl.features.featureset import FeatureSet, load_features
from dacl.features.featurizer import PreprocessConfig

__all__ = ["FeatureSet", "PreprocessConfig", "load_features", "preprocess"]
