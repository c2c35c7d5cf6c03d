"""Reading ECG corpora: :func:`open_corpus` gives a :class:`Corpus` of :class:`Record` s.

``reader`` (the corpus), ``layouts`` (CinC 2017, CinC 2020/2021, PTB-XL, MIMIC-IV-ECG, generic
WFDB, and how ``layout="auto"`` tells them apart), ``labels`` (label tables, SNOMED CT and the CinC
scored classes, PTB-XL's SCP statements), ``annotations`` (rhythm intervals from ``.atr`` files),
``sources`` (bounded, confined bytes from a folder or zip), ``wfdb`` (headers and the numpy reader),
``leads`` (lead names and units), ``cinc2017`` (its class vocabulary and ``REFERENCE.csv``),
``records`` (a record, its header facts and its errors) and ``sample`` (the 40-record sample
shipped in ``data/``).
"""

from dacl.corpus.layouts import LAYOUTS
from dacl.corpus.reader import Corpus, open_corpus
from dacl.corpus.records import Interval, Record, RecordError, RecordInfo
from dacl.corpus.sample import sample_path

__all__ = ["LAYOUTS", "Corpus", "Interval", "Record", "RecordError", "RecordInfo", "open_corpus", "sample_path"]
