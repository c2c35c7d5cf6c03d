"""Reading WFDB corpora: :func:`open_corpus` gives a :class:`Corpus` of :class:`Record` s.

``reader`` (the corpus), ``sources`` (bounded, confined bytes from a folder or
zip), ``wfdb`` (headers and the format-16 fast path), ``cinc2017`` (the label
vocabulary and ``REFERENCE.csv``), ``records`` (a record and its errors) and
``sample`` (the 40-record sample shipped in ``data/``).
"""

from dacl.corpus.reader import Corpus, open_corpus
from dacl.corpus.records import Record, RecordError
from dacl.corpus.sample import sample_path

__all__ = ["Corpus", "Record", "RecordError", "open_corpus", "sample_path"]
