"""dacl.settings: sections checked by their type hints, TOML values coerced, flags generated from fields."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Literal

import pytest

from dacl.settings import (
    NON_NEGATIVE,
    add_options,
    check_fields,
    coerce,
    given_options,
    option,
    section_from_dict,
)


def _pair(text: str) -> tuple[float, float]:
    lo, hi = text.split(",")
    return float(lo), float(hi)


@dataclass(frozen=True)
class Toy:
    rate: float = option(2.5, "a rate", "--rate")
    count: int | None = option(None, "how many", "-n", default_text="all")
    kind: Literal["a", "b"] = option("a", "which kind", "--kind")
    sizes: tuple[int, ...] = (4, 2)
    band: tuple[float, float] | None = option(
        (1.0, 2.0), "a band", "--band", parse=_pair, off="--no-band", off_help="no band"
    )
    loud: bool = option(True, "be loud", off="--quiet", off_help="be quiet")
    keep: bool = option(False, "keep it", "--keep")
    table: dict[str, float] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.table is None:
            object.__setattr__(self, "table", {})
        check_fields(self, "toy", {"count": NON_NEGATIVE}, non_empty=("sizes",))


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"rate": float("nan")}, ValueError, "toy.rate must be a finite number, got nan"),
        ({"rate": True}, TypeError, "toy.rate must be float, got True"),
        ({"count": 2.0}, TypeError, "toy.count must be int or None, got 2.0"),
        ({"count": -1}, ValueError, "toy.count must be >= 0, got -1"),
        ({"kind": "c"}, ValueError, "toy.kind must be one of ('a', 'b'), got 'c'"),
        ({"sizes": ()}, ValueError, "toy.sizes must list at least one size, got []"),
        ({"sizes": (3, 0)}, ValueError, "toy.sizes: every size must be >= 1, got [3, 0]"),
        ({"band": (1.0, float("inf"))}, ValueError, "toy.band must be a finite number, got inf"),
        ({"table": {"x": float("nan")}}, ValueError, "toy.table.x must be a finite number, got nan"),
        ({"loud": 1}, TypeError, "toy.loud must be bool, got 1"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_field(change: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        Toy(**change)


def test_ints_count_as_floats_and_none_as_none() -> None:
    assert Toy(rate=3, count=None).rate == 3
    assert coerce("toy", "rate", 3, float) == 3.0 and isinstance(coerce("toy", "rate", 3, float), float)
    assert coerce("toy", "count", "none", int | None) is None


def test_toml_values_are_coerced_and_unknown_keys_refused() -> None:
    toy = section_from_dict(Toy, "toy", {"sizes": [8, 4], "band": "3,4", "count": 2, "table": {"x": 1}})
    assert toy.sizes == (8, 4) and toy.band == (3.0, 4.0) and toy.count == 2 and toy.table == {"x": 1.0}
    assert section_from_dict(Toy, "toy", {"band": "none"}).band is None
    with pytest.raises(TypeError, match=re.escape("[toy] band must be a list of 2 floats")):
        section_from_dict(Toy, "toy", {"band": [1, 2, 3]})
    with pytest.raises(ValueError, match=re.escape("unknown key(s) in [toy]: ['rat']")):
        section_from_dict(Toy, "toy", {"rat": 1.0})


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_options(parser, [("toy", Toy)])
    return parser.parse_args(list(argv))


def test_flags_are_generated_from_the_fields_and_only_given_ones_are_returned() -> None:
    assert given_options(_parse(), "toy") == {}
    given = given_options(_parse("--rate", "4", "-n", "3", "--kind", "b", "--band", "5,6", "--quiet", "--keep"), "toy")
    assert given == {"rate": 4.0, "count": 3, "kind": "b", "band": (5.0, 6.0), "loud": False, "keep": True}
    assert given_options(_parse("--no-band"), "toy") == {"band": None}
    with pytest.raises(SystemExit):
        _parse("--kind", "c")
    with pytest.raises(SystemExit):
        _parse("--band", "5")  # not a pair: the field's parse function refuses it


def test_help_shows_each_default() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser, [("toy", Toy)])
    text = " ".join(parser.format_help().split())
    for shown in ("a rate (default 2.5)", "how many (default all)", "a band (default 1,2)", "be quiet", "keep it"):
        assert shown in text
