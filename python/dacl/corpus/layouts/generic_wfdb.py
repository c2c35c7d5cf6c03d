"""Any folder of WFDB records: names from ``RECORDS`` or the headers, labels from a CSV or none.

Records are those ``RECORDS`` lists (PhysioNet's nested ``dir/`` entries
followed), else every ``.hea`` below the root, sorted. Labels come from an
optional labels CSV (``record,labels``, several labels separated by ``;``,
checked against the record list like CinC 2017's ``REFERENCE.csv``); the task
is ``"single-label"`` when every labelled record has one label, else
``"multi-label"``, and ``"none"`` without a CSV. Header comments are kept in
``meta["comments"]``. Rhythm annotations (``.atr``) beside the records are read
by :meth:`dacl.corpus.Corpus.annotations`.
"""

from __future__ import annotations

from typing import Any

from dacl.corpus.labels.table import parse_labels_csv
from dacl.corpus.layouts.base import LabelOptions, Layout, Listing, listed_names, names_digest
from dacl.corpus.records import file_sha256
from dacl.corpus.sources import MAX_LIST_BYTES, Source, decode_list, size_text
from dacl.corpus.wfdb import Header


class GenericWfdb(Layout):
    kind = "wfdb"

    def __init__(
        self,
        source: Source,
        reason: str,
        fingerprint: dict[str, str],
        options: LabelOptions,
        listing: Listing | None = None,
    ) -> None:
        names = listed_names(source, fingerprint, listing)
        self.table: dict[str, tuple[str, ...]] | None = None
        task = "none"
        if options.labels is not None:
            self.table = _labels_csv(options, names)
            fingerprint["labels_sha256"] = file_sha256(options.labels)
            task = "single-label" if all(len(v) == 1 for v in self.table.values()) else "multi-label"
        fingerprint["names_sha256"] = names_digest(names)
        super().__init__(source, names, reason, fingerprint, task)

    def vocabulary(self) -> tuple[str, ...] | None:
        return None if self.table is None else tuple(sorted({label for v in self.table.values() for label in v}))

    def labels(self, name: str, header: Header | None) -> tuple[str, ...] | None:
        return None if self.table is None else self.table.get(name)

    def meta(self, name: str, header: Header) -> dict[str, Any]:
        return {"comments": list(header.comments)} if header.comments else {}


def _labels_csv(options: LabelOptions, names: list[str]) -> dict[str, tuple[str, ...]]:
    path = options.labels
    assert path is not None
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found: {path}")
    if path.stat().st_size > MAX_LIST_BYTES:
        raise ValueError(f"{path} is larger than {size_text(MAX_LIST_BYTES)}; not a labels CSV")
    text = decode_list(path.read_bytes(), str(path))
    return parse_labels_csv(text, names, options.partial_labels, str(path))
