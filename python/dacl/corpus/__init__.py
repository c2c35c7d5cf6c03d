"""Reading WFDB corpora."""

from dacl.corpus.reader import Corpus, Record, RecordError, open_corpus, parse_reference
from dacl.corpus.sample import sample_path

__all__ = ["Corpus", "Record", "RecordError", "open_corpus", "parse_reference", "sample_path"]
