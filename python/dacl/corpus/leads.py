"""Lead names and units: which channels of a record are ECG leads, what they are called, and in what unit.

Corpora spell the twelve standard leads differently (``aVR``, ``AVR``, ``avr``) and
order them differently (MIMIC-IV-ECG stores aVF before aVL), so leads are matched
by their normalised name (:func:`canonical_lead`), never by position.

Which channels are ECG leads (:func:`is_ecg`): a record may also hold blood
pressure, plethysmography, respiration, ... (``ABP``, ``PLETH``, ``RESP`` in the
MIMIC and CinC 2015 databases). A channel is an ECG lead when its name is one
of the usual ECG lead names (the twelve standard leads, other chest leads
``V7``/``V3R``, Frank leads ``X Y Z``/``vx vy vz``, Holter and monitor leads
``MLII``/``MCL1``/``CM5``/``D1``, and names starting ``ECG``/``EKG``); a channel
whose name starts like a known non-ECG signal is not; any other name counts as
an ECG lead when its unit is a voltage the corpus accepts (mV or µV).
"""

from __future__ import annotations

import re

#: The twelve standard lead names, in their usual spelling and order.
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_STANDARD_BY_KEY = {lead.casefold(): lead for lead in STANDARD_LEADS}

#: Usual names of ECG leads beyond the standard twelve (matched on the name without spaces, casefolded).
_ECG_NAME = re.compile(
    r"i{1,3}|a?v[rlf]|v\d{0,2}r?|v[xyz]|[xyz]|ml(?:i{1,3}|\d)|mcl\d|cm\d|d(?:i{1,3}|\d)|(?:ecg|ekg).*"
)
#: Starts of the names of non-ECG signals found in WFDB records (pressures, oximetry, respiration, EEG ...).
_NON_ECG_PREFIXES = (
    "abp",
    "art",
    "pap",
    "cvp",
    "icp",
    "lap",
    "rap",
    "uap",
    "nbp",
    "bp",
    "pleth",
    "ppg",
    "spo2",
    "sao2",
    "resp",
    "co2",
    "etco2",
    "airflow",
    "flow",
    "press",
    "pulse",
    "temp",
    "eeg",
    "eog",
    "emg",
    "hr",
)


def _key(name: str) -> str:
    return "".join(name.split()).casefold()


def canonical_lead(name: str) -> str:
    """The standard spelling of a standard lead name (``avr``, ``AVR``, ``a VR`` -> ``aVR``); others as written."""
    return _STANDARD_BY_KEY.get(_key(name), name)


def mv_divisor(units: str) -> float | None:
    """What a value in ``units`` is divided by to give mV: 1 for mV (any case), 1000 for µV/uV,
    ``None`` for anything else."""
    key = units.strip().casefold()  # casefold maps the micro sign to the Greek mu
    if key == "mv":
        return 1.0
    if key in ("uv", "\u03bcv"):
        return 1000.0
    return None


def is_ecg_name(name: str) -> bool:
    """Whether ``name`` is one of the usual ECG lead names (see the module docstring)."""
    key = _key(name).replace("-", "")
    return key in _STANDARD_BY_KEY or _ECG_NAME.fullmatch(key) is not None


def is_ecg(name: str, units: str) -> bool:
    """Whether a channel named ``name`` measured in ``units`` is an ECG lead (see the module docstring)."""
    if is_ecg_name(name):
        return True
    if _key(name).startswith(_NON_ECG_PREFIXES):
        return False
    return mv_divisor(units) is not None
