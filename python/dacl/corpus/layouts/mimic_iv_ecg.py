"""MIMIC-IV-ECG: about 800,000 unlabelled 12-lead 10 s records in a ``files/pNNNN/pNNNNNNNN/sNNNNNNNN/`` tree.

The published layout: ``record_list.csv`` at the root (``subject_id, study_id,
file_name, ecg_time, path``), each record at ``path`` (``files/p1000/p10000032/
s40689238/40689238``). Record names are those paths, in the table's order. The
corpus carries no labels (task ``"none"``); ``meta`` holds ``patient``
(``subject_id``), ``study`` (``study_id``) and ``ecg_time``. A listed record
whose files are missing is a bad record when read; a table none of whose
records is here is a ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dacl.corpus.layouts.base import (
    LabelOptions,
    Layout,
    Listing,
    check_unique,
    first_present,
    integer_text,
    names_digest,
    no_records,
    read_table,
    table_name,
)
from dacl.corpus.sources import Source
from dacl.corpus.wfdb import Header
from dacl.io.documents import excerpt

RECORD_LIST = "record_list.csv"
_COLUMNS = ("subject_id", "study_id", "ecg_time", "path")


class MimicIvEcg(Layout):
    kind = "mimic-iv-ecg"

    def __init__(
        self,
        source: Source,
        reason: str,
        fingerprint: dict[str, str],
        options: LabelOptions,
        listing: Listing | None = None,
    ) -> None:
        if not source.exists(RECORD_LIST):
            raise ValueError(f"{source.description}: no {RECORD_LIST} here; not a MIMIC-IV-ECG corpus")
        rows, fingerprint["record_list_sha256"] = read_table(source, RECORD_LIST, _COLUMNS)
        names: list[str] = []
        subjects: list[int] = []
        studies: list[int] = []
        times: list[str] = []
        for lineno, row in rows:  # kept as arrays: the full table has 800,000 rows
            names.append(table_name(source, RECORD_LIST, lineno, "path", row["path"]))
            for column, values in (("subject_id", subjects), ("study_id", studies)):
                value = integer_text(row[column])
                if value is None:
                    raise ValueError(
                        f"{source.description}: {RECORD_LIST} line {lineno}: {column} "
                        f"'{excerpt(row[column])}' is not an integer"
                    )
                values.append(int(value))
            times.append(row["ecg_time"])
        check_unique(source, RECORD_LIST, names)
        if first_present(source, names) is None:
            raise no_records(source, RECORD_LIST, names, "(path)")
        fingerprint["names_sha256"] = names_digest(names)
        super().__init__(source, names, reason, fingerprint, "none")
        self._index = {name: i for i, name in enumerate(names)}
        self._subjects = np.array(subjects, dtype=np.int64)
        self._studies = np.array(studies, dtype=np.int64)
        self._times = np.array(times, dtype=str)

    def meta(self, name: str, header: Header) -> dict[str, Any]:
        i = self._index[name]
        return {
            "patient": str(self._subjects[i]),
            "study": str(self._studies[i]),
            "ecg_time": str(self._times[i]),
            "database": "mimic-iv-ecg",
        }
