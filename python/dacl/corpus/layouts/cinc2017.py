"""PhysioNet/CinC Challenge 2017: single-lead AliveCor records and ``REFERENCE.csv`` labels N/A/O/~.

The layout of PhysioNet's ``training2017.zip``: a folder (``training2017/``)
holding single-lead WFDB records (``A00001.hea`` + ``A00001.mat``), ``RECORDS``
and ``REFERENCE.csv`` (``record,label``). The headers name no lead; the records
come from AliveCor's KardiaMobile, held between the two hands, which records a
lead-I-like signal, so the lead is called ``I``.
"""

from __future__ import annotations

from dacl.corpus.cinc2017 import CLASSES, parse_reference
from dacl.corpus.layouts.base import LabelOptions, Layout, Listing, listed_names, names_digest
from dacl.corpus.records import RecordError
from dacl.corpus.sources import Source, read_list
from dacl.corpus.wfdb import Header

#: The lead of a CinC 2017 record (see the module docstring).
SINGLE_LEAD: tuple[str, ...] = ("I",)


class Cinc2017(Layout):
    kind = "cinc2017"

    def __init__(
        self,
        source: Source,
        reason: str,
        fingerprint: dict[str, str],
        options: LabelOptions,
        listing: Listing | None = None,
    ) -> None:
        names = listed_names(source, fingerprint, listing)
        self.reference: dict[str, str] | None = None
        if source.exists("REFERENCE.csv"):
            text, fingerprint["reference_sha256"] = read_list(source, "REFERENCE.csv")
            self.reference = parse_reference(text, names, options.partial_labels)
        fingerprint["names_sha256"] = names_digest(names)
        super().__init__(source, names, reason, fingerprint, "none" if self.reference is None else "single-label")

    def vocabulary(self) -> tuple[str, ...] | None:
        return None if self.reference is None else CLASSES

    def labels(self, name: str, header: Header | None) -> tuple[str, ...] | None:
        label = None if self.reference is None else self.reference.get(name)
        return None if label is None else (label,)

    def lead_names(self, name: str, header: Header) -> tuple[str, ...]:
        if header.n_signals != 1:
            raise RecordError(name, f"has {header.n_signals} signals; a CinC 2017 record holds one lead")
        return SINGLE_LEAD
