"""The corpus layouts and how ``layout="auto"`` recognises them.

Detection looks at the corpus root (see :func:`detect`), in this order:

1. ``REFERENCE.csv`` -> ``cinc2017`` (PhysioNet/CinC 2017's labels beside the records);
2. ``ptbxl_database.csv`` -> ``ptbxl``;
3. ``record_list.csv`` beside a ``files/`` folder -> ``mimic-iv-ecg``;
4. a ``# Dx:`` comment in the header of the first record that reads (records
   found through ``RECORDS`` or in any subfolder, so CinC 2020/2021's nested
   ``training/<database>/gN/`` folders count) -> ``cinc2021``;
5. otherwise -> ``wfdb``, any folder of WFDB records.
"""

from __future__ import annotations

from dacl.corpus.labels.snomed import LABEL_MAPS, dx_codes
from dacl.corpus.layouts.base import LAYOUTS, TASKS, LabelOptions, Layout, Listing, first_header, record_names
from dacl.corpus.layouts.cinc2017 import SINGLE_LEAD, Cinc2017
from dacl.corpus.layouts.cinc2021 import Cinc2021
from dacl.corpus.layouts.generic_wfdb import GenericWfdb
from dacl.corpus.layouts.mimic_iv_ecg import RECORD_LIST, MimicIvEcg
from dacl.corpus.layouts.ptbxl import DATABASE, Ptbxl
from dacl.corpus.sources import Source
from dacl.io.documents import excerpt

__all__ = ["LAYOUTS", "SINGLE_LEAD", "TASKS", "LabelOptions", "Layout", "detect", "open_layout"]

_CLASSES: dict[str, type[Cinc2017 | Cinc2021 | Ptbxl | MimicIvEcg | GenericWfdb]] = {
    "cinc2017": Cinc2017,
    "cinc2021": Cinc2021,
    "ptbxl": Ptbxl,
    "mimic-iv-ecg": MimicIvEcg,
    "wfdb": GenericWfdb,
}


def detect(source: Source) -> tuple[str, str, Listing | None]:
    """The layout of the corpus in ``source``, what showed it (see the module docstring), and the record
    listing when reading it was needed to tell."""
    if source.exists("REFERENCE.csv"):
        return "cinc2017", "REFERENCE.csv at the corpus root", None
    if source.exists(DATABASE):
        return "ptbxl", f"{DATABASE} at the corpus root", None
    if source.exists(RECORD_LIST) and source.is_folder("files"):
        return "mimic-iv-ecg", f"{RECORD_LIST} beside a files/ tree", None
    listing = record_names(source)
    header = first_header(source, listing[0])
    try:
        has_dx = header is not None and dx_codes(header.comments) is not None
    except ValueError:  # a malformed '# Dx:' comment is still one
        has_dx = True
    if header is not None and has_dx:
        return "cinc2021", f"'# Dx:' comment in the header of {excerpt(header.name)}", listing
    return "wfdb", "no layout marker file and no '# Dx:' header comment: generic WFDB records", listing


def open_layout(source: Source, layout: str, options: LabelOptions, fingerprint: dict[str, str]) -> Layout:
    """The layout ``layout`` (or the detected one for ``"auto"``) of the corpus in ``source``, its options checked."""
    listing = None
    if layout == "auto":
        layout, reason, listing = detect(source)
    elif layout in _CLASSES:
        reason = "chosen by the caller"
    else:
        raise ValueError(
            f"unknown corpus layout '{excerpt(str(layout))}'; expected auto or one of {', '.join(LAYOUTS)}"
        )
    _check_options(layout, options)
    return _CLASSES[layout](source, reason, fingerprint, options, listing)


def _check_options(layout: str, options: LabelOptions) -> None:
    """Label options that do not apply to ``layout`` are an error, not silently ignored."""
    if options.label_map is not None and options.label_map not in LABEL_MAPS:
        raise ValueError(
            f"unknown label_map '{excerpt(str(options.label_map))}'; expected one of {', '.join(LABEL_MAPS)}"
        )
    given = [
        ("label_map applies", "cinc2021", options.label_map is not None),
        ("scp_level / scp_threshold apply", "ptbxl", (options.scp_level, options.scp_threshold) != ("all", 0.0)),
        ("ptbxl_records applies", "ptbxl", options.ptbxl_records != "auto"),
        ("a labels CSV applies", "wfdb", options.labels is not None),
    ]
    misplaced = [f"{what} to the {applies} layout only" for what, applies, set_ in given if set_ and layout != applies]
    if misplaced:
        raise ValueError(f"{'; '.join(misplaced)}; this corpus is {layout}")
