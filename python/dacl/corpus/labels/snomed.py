"""SNOMED CT diagnoses of the PhysioNet/CinC Challenges 2020/2021: ``# Dx:`` header comments and the scored classes.

Each CinC 2020/2021 header carries a comment ``# Dx: 164889003,59118001`` listing
the record's diagnoses as SNOMED CT concept ids; trailing commas and blanks occur
in the real data and are tolerated. :func:`dx_codes` reads them.

The challenges scored only some diagnoses, and counted some pairs of codes as one
diagnosis. :data:`CINC_SCORED` is that table for the 2021 challenge (which scored
every class of 2020 plus three more, and merged complete and plain left bundle
branch block). It is written here from the facts published with the
challenge's evaluation code (``dx_mapping_scored.csv`` and the class list of
``weights.csv`` in the physionetchallenges/evaluation-2021 repository); see
``docs/labels.md``. :func:`scored` maps a record's codes onto it: each scored
code becomes its class (the first code of an equivalent pair, as the
challenge's own scoring does) and unscored codes are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from dacl.io.documents import excerpt


class ScoredClass(NamedTuple):
    """One scored class: its code, the codes counted as it, the challenge's abbreviation and name."""

    code: str
    members: tuple[str, ...]
    abbreviation: str
    diagnosis: str


def _row(codes: str, abbreviation: str, diagnosis: str) -> ScoredClass:
    members = tuple(codes.split("|"))
    return ScoredClass(members[0], members, abbreviation, diagnosis)


#: The 26 scored classes of the PhysioNet/CinC Challenge 2021 (30 SNOMED CT codes, four equivalent
#: pairs joined by ``|``), in the order of the challenge's weight matrix.
CINC_SCORED: tuple[ScoredClass, ...] = (
    _row("164889003", "AF", "atrial fibrillation"),
    _row("164890007", "AFL", "atrial flutter"),
    _row("6374002", "BBB", "bundle branch block"),
    _row("426627000", "Brady", "bradycardia"),
    _row("733534002|164909002", "CLBBB|LBBB", "complete left bundle branch block | left bundle branch block"),
    _row("713427006|59118001", "CRBBB|RBBB", "complete right bundle branch block | right bundle branch block"),
    _row("270492004", "IAVB", "first degree atrioventricular block"),
    _row("713426002", "IRBBB", "incomplete right bundle branch block"),
    _row("39732003", "LAD", "left axis deviation"),
    _row("445118002", "LAnFB", "left anterior fascicular block"),
    _row("164947007", "LPR", "prolonged PR interval"),
    _row("251146004", "LQRSV", "low QRS voltages"),
    _row("111975006", "LQT", "prolonged QT interval"),
    _row("698252002", "NSIVCB", "nonspecific intraventricular conduction disorder"),
    _row("426783006", "NSR", "sinus rhythm"),
    _row("284470004|63593006", "PAC|SVPB", "premature atrial contraction | supraventricular premature beats"),
    _row("10370003", "PR", "pacing rhythm"),
    _row("365413008", "PRWP", "poor R wave progression"),
    _row("427172004|17338001", "PVC|VPB", "premature ventricular contractions | ventricular premature beats"),
    _row("164917005", "QAb", "Q wave abnormal"),
    _row("47665007", "RAD", "right axis deviation"),
    _row("427393009", "SA", "sinus arrhythmia"),
    _row("426177001", "SB", "sinus bradycardia"),
    _row("427084000", "STach", "sinus tachycardia"),
    _row("164934002", "TAb", "T wave abnormal"),
    _row("59931005", "TInv", "T wave inversion"),
)

#: Scored code -> the code of its class.
_CLASS_OF = {member: row.code for row in CINC_SCORED for member in row.members}
#: The names ``label_map`` accepts.
LABEL_MAPS = ("cinc-scored",)

_DX = re.compile(r"dx\s*:(.*)", re.IGNORECASE | re.DOTALL)
#: A SNOMED CT concept id: 6 to 18 digits.
_SNOMED_ID = re.compile(r"[0-9]{6,18}")


def dx_codes(comments: Iterable[str]) -> tuple[str, ...] | None:
    """The SNOMED CT codes of the ``Dx:`` comment among a header's ``comments`` (the text after ``#``),
    in their order without repeats; ``None`` when there is no such comment.

    Raises ``ValueError`` (the caller names the record) for a second ``Dx:`` comment or a code that is
    not a SNOMED CT concept id.
    """
    found = [m[1] for m in (_DX.match(c) for c in comments) if m]
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(f"header has {len(found)} '# Dx:' comments; expected one")
    codes = [code.strip() for code in found[0].split(",")]
    codes = [code for code in codes if code]  # "164889003,59118001," occurs in the real data
    bad = [code for code in codes if not _SNOMED_ID.fullmatch(code)]
    if bad:
        raise ValueError(f"'# Dx:' comment holds '{excerpt(bad[0], 24)}', which is not a SNOMED CT code")
    return tuple(dict.fromkeys(codes))


def scored(codes: Iterable[str]) -> tuple[str, ...]:
    """The scored classes among ``codes`` (equivalent codes merged, unscored ones dropped), in table order."""
    classes = {_CLASS_OF[c] for c in codes if c in _CLASS_OF}
    return tuple(row.code for row in CINC_SCORED if row.code in classes)


def scored_vocabulary() -> tuple[str, ...]:
    """The codes of the scored classes, in table order."""
    return tuple(row.code for row in CINC_SCORED)
