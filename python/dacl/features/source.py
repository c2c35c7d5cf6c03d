"""What the pipeline needs of a corpus, and opening one with the ``[preprocess]`` corpus options.

The features stage reads records only through :class:`CorpusReader`, the
interface of :mod:`dacl.corpus` (``open_corpus`` returns one): record names,
headers without samples (``info``), records or ranges of them (``read``),
rhythm annotations, the label vocabulary and task, the layout and the
fingerprint of the inputs. Any object with these members can be preprocessed
(``preprocess(corpus, out)``), e.g. a corpus assembled in a test.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

from dacl.corpus import open_corpus
from dacl.corpus.records import Record
from dacl.features.featurizer import PreprocessConfig


class CorpusReader(Protocol):
    """The members of :class:`dacl.corpus.Corpus` the pipeline uses."""

    names: list[str]
    fingerprint: dict[str, str]

    @property
    def layout(self) -> str: ...
    @property
    def vocabulary(self) -> tuple[str, ...] | None: ...
    @property
    def task(self) -> str: ...
    def info(self, name: str) -> Any: ...  # .n_samples, .fs, .leads
    def read(self, name: str, min_samples: int = 1, sampfrom: int = 0, sampto: int | None = None) -> Record: ...
    def annotations(self, name: str) -> Sequence[Any] | None: ...  # (start, end, label) intervals


def corpus_options(config: PreprocessConfig) -> dict[str, Any]:
    """The :func:`~dacl.corpus.open_corpus` options that ``config``'s corpus fields set."""
    return {
        "layout": config.layout,
        "labels": config.labels or None,  # "" on the command line: no labels file
        "label_map": config.label_map,
        "scp_level": config.scp_level,
        "scp_threshold": config.scp_threshold,
    }


def open_source(source: str | os.PathLike[str] | CorpusReader, config: PreprocessConfig) -> CorpusReader:
    """``source`` itself if it is an open corpus, else :func:`dacl.corpus.open_corpus` of the path with the
    corpus options of ``config``."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    corpus: CorpusReader = open_corpus(source, partial_labels=config.partial_labels, **corpus_options(config))
    return corpus


def source_text(source: str | os.PathLike[str] | CorpusReader) -> str:
    """What the manifest records as the dataset's source: the path, or the corpus object's description."""
    return str(source) if isinstance(source, (str, os.PathLike)) else repr(source)
