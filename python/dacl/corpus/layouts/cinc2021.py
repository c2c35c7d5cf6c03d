"""PhysioNet/CinC Challenges 2020 and 2021: 12-lead records labelled by ``# Dx:`` SNOMED CT codes.

The challenges publish each source database in its own folder, split into
``g1``, ``g2``, ... subfolders (``training/georgia/g1/E00001.hea`` + ``.mat``);
a corpus may be the whole tree, one database, or a flat folder of records.
Headers carry ``# Age:``, ``# Sex:`` and ``# Dx:`` comments. Labels are the
``# Dx:`` codes as strings (:func:`dacl.corpus.labels.snomed.dx_codes`), or with
``label_map="cinc-scored"`` the challenge's scored classes
(:data:`dacl.corpus.labels.snomed.CINC_SCORED`). A header without ``# Dx:`` is a
bad record unless ``partial_labels`` reads it as unlabelled. The challenges
give no patient ids, so none is invented; ``meta["database"]`` is the folder a
record lies in, skipping a ``gN`` level (absent for records at the root).
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath
from typing import Any

from dacl.corpus.labels import snomed
from dacl.corpus.layouts.base import LabelOptions, Layout, Listing, listed_names, names_digest
from dacl.corpus.records import RecordError
from dacl.corpus.sources import Source
from dacl.corpus.wfdb import Header, read_header

_GROUP = re.compile(r"g[0-9]+")
_SEX = {"male": "male", "m": "male", "female": "female", "f": "female"}


class Cinc2021(Layout):
    kind = "cinc2021"
    labels_in_header = True

    def __init__(
        self,
        source: Source,
        reason: str,
        fingerprint: dict[str, str],
        options: LabelOptions,
        listing: Listing | None = None,
    ) -> None:
        names = listed_names(source, fingerprint, listing)
        fingerprint["names_sha256"] = names_digest(names)
        super().__init__(source, names, reason, fingerprint, "multi-label")
        self.label_map = options.label_map
        self.partial_labels = options.partial_labels
        self._vocabulary: tuple[str, ...] | None = None

    def vocabulary(self) -> tuple[str, ...] | None:
        """The scored classes with ``label_map``; else every code the headers carry, in numeric order
        (read once, from every header: unreadable ones are skipped, they fail when read)."""
        if self.label_map is not None:
            return snomed.scored_vocabulary()
        if self._vocabulary is None:
            codes: set[str] = set()
            for name in self.names:
                try:
                    codes.update(self.labels(name, read_header(self.source, name)) or ())
                except (RecordError, ValueError, OSError):
                    continue
            self._vocabulary = tuple(sorted(codes, key=int))
        return self._vocabulary

    def labels(self, name: str, header: Header | None) -> tuple[str, ...] | None:
        assert header is not None
        try:
            codes = snomed.dx_codes(header.comments)
        except ValueError as err:
            raise RecordError(name, str(err)) from None
        if codes is None:
            if self.partial_labels:
                return None
            raise RecordError(
                name, "header has no '# Dx:' comment (partial_labels / --partial-labels reads it as unlabelled)"
            )
        return snomed.scored(codes) if self.label_map is not None else codes

    def meta(self, name: str, header: Header) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        fields = _comment_fields(header.comments)
        age = _age(fields.get("age", ""))
        if age is not None:
            meta["age"] = age
        sex = _SEX.get(fields.get("sex", "").casefold())
        if sex:
            meta["sex"] = sex
        parts = [p for p in PurePosixPath(name).parent.parts if p != "."]
        if parts and _GROUP.fullmatch(parts[-1]):
            parts.pop()
        if parts:
            meta["database"] = parts[-1]
        return meta


def _comment_fields(comments: tuple[str, ...]) -> dict[str, str]:
    """``Key: value`` comments as ``{key (casefolded): value}``, the first of each key."""
    fields: dict[str, str] = {}
    for comment in comments:
        key, sep, value = comment.partition(":")
        if sep:
            fields.setdefault(key.strip().casefold(), value.strip())
    return fields


def _age(text: str) -> int | float | None:
    """An age in years (``"78"`` -> 78, ``"56.5"`` -> 56.5); ``None`` for ``Unknown``, ``NaN`` and the like."""
    try:
        age = float(text)
    except ValueError:
        return None
    if not math.isfinite(age) or age < 0:
        return None
    return int(age) if age.is_integer() else age
