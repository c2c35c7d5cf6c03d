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
from collections.abc import Mapping, Sequence
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


#: The ``open_corpus`` option each corpus field of :class:`PreprocessConfig` sets, and that option's default.
CORPUS_OPTIONS: Mapping[str, Any] = {
    "layout": "auto",
    "label_map": None,
    "scp_level": "all",
    "scp_threshold": 0.0,
    "labels": None,
}


def corpus_options(config: PreprocessConfig) -> dict[str, Any]:
    """The ``open_corpus`` options ``config`` sets to something else than their defaults."""
    given = {key: getattr(config, key) for key in CORPUS_OPTIONS}
    given["labels"] = given["labels"] or None
    return {key: value for key, value in given.items() if value != CORPUS_OPTIONS[key]}


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
