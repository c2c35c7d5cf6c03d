"""Typed configuration sections: one mechanism for TOML files, ``--set`` and command-line flags.

Every command's options are *sections*: frozen dataclasses whose type hints say
what each value is and whose ``__post_init__`` calls :func:`check_fields`, so a
bad value is one clear error naming ``section.key`` whether it came from Python,
a TOML file, ``--set section.key=value`` or a flag. This module holds the
machinery, not the sections (they live with their stage):

* :func:`check_fields` — types from the hints (an int is not a bool, a float is
  finite, a ``Literal`` lists the allowed strings, a ``tuple[int, ...]`` holds
  layer sizes ``>= 1``) plus per-field :data:`Rule`\\ s;
* :func:`section_from_dict` / :func:`coerce` — TOML values into a section
  (ints widen to floats, lists become tuples, ``"none"`` is ``None`` where a
  field may be ``None``); an unknown key is an error, so a typo never falls
  back to a default;
* :func:`parse_override`, :func:`read_config_file`, :func:`to_toml`;
* :func:`option`, :func:`add_options`, :func:`given_options` — the command-line
  flags of a section, generated from its fields (flag names and help in the
  field metadata). Generated flags have no argparse default, so only the flags
  actually given override a config file.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import tomllib
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

# --------------------------------------------------------------- validation
# A rule is (test, wording): "vae.lr must be > 0, got -1".
Rule = tuple[Callable[[Any], bool], str]


def at_least(low: int) -> Rule:
    return (lambda v: v >= low), f">= {low}"


def within(low: float, high: float, *, high_open: bool = False) -> Rule:
    if high_open:
        return (lambda v: low <= v < high), f"in [{low}, {high})"
    return (lambda v: low <= v <= high), f"in [{low}, {high}]"


POSITIVE: Rule = ((lambda v: v > 0), "> 0")
NON_NEGATIVE: Rule = at_least(0)
#: Sizes of one training batch: a batch of one has nothing to contrast and breaks BatchNorm.
BATCH: Rule = at_least(2)
#: The optimisation fields every trained stage ([vae], [encoder], [dae]) has.
TRAINING_RULES: dict[str, Rule] = {
    "epochs": at_least(1),
    "batch_size": BATCH,
    "lr": POSITIVE,
    "weight_decay": NON_NEGATIVE,
    "patience": NON_NEGATIVE,
}


def check_fields(
    section: Any,
    name: str,
    rules: dict[str, Rule] | None = None,
    choices: dict[str, tuple[str, ...]] | None = None,
    non_empty: tuple[str, ...] = (),
) -> None:
    """Validate one section up front, so a bad value is one clear error naming ``name.key``.

    Every field must have the type its hint says (``TypeError``); every float (also inside
    tuples and tables) must be finite, every element of a ``tuple[int, ...]`` ``>= 1`` (they
    are layer widths) and a ``Literal`` field one of its strings (``ValueError``). ``rules``
    bound single fields (a field that may be ``None`` is not bound when it is), ``choices``
    list allowed strings, ``non_empty`` names size tuples that need at least one element.
    """
    for key, hint in get_type_hints(type(section)).items():
        _check_value(f"{name}.{key}", getattr(section, key), hint, key in non_empty)
    for key, (test, wording) in (rules or {}).items():
        value = getattr(section, key)
        if value is not None and not test(value):
            raise ValueError(f"{name}.{key} must be {wording}, got {value}")
    for key, allowed in (choices or {}).items():
        if getattr(section, key) not in allowed:
            raise ValueError(f"{name}.{key} must be one of {allowed}, got {getattr(section, key)!r}")


def _check_value(label: str, value: Any, hint: Any, non_empty: bool) -> None:
    arms = _arms(hint)
    if value is None and type(None) in arms:
        return
    hint = next((a for a in arms if a is not type(None) and _fits(value, a)), None)
    if hint is None:
        _refuse(label, value, arms)
    if get_origin(hint) is not Literal:
        _check_contents(label, value, hint, non_empty)


def _check_contents(label: str, value: Any, hint: Any, non_empty: bool) -> None:
    """Finite floats (also inside tables and tuples), layer sizes ``>= 1``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{label} must be a finite number, got {value}")
    if get_origin(hint) is dict:
        for k, v in value.items():
            _check_value(f"{label}.{k}", v, get_args(hint)[1], False)
    elif _is_sizes(hint):
        if non_empty and not value:
            raise ValueError(f"{label} must list at least one size, got []")
        if any(v < 1 for v in value):
            raise ValueError(f"{label}: every size must be >= 1, got {list(value)}")
    elif get_origin(hint) is tuple:
        for v in value:
            _check_value(label, v, _element(hint), False)


def _refuse(label: str, value: Any, arms: tuple[Any, ...]) -> None:
    """Raise the error for a value that fits none of ``arms``: a wrong choice, or a wrong type."""
    literal = next((a for a in arms if get_origin(a) is Literal), None)
    if literal is not None and isinstance(value, str):
        raise ValueError(f"{label} must be one of {get_args(literal)}, got {value!r}")
    raise TypeError(f"{label} must be {' or '.join(_describe(a) for a in arms)}, got {value!r}")


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` (ints count as floats; bools never count as numbers)."""
    origin = get_origin(hint)
    if origin is Literal:
        return value in get_args(hint)
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, tuple) or (args[-1] is not Ellipsis and len(value) != len(args)):
            return False
        return all(_fits(v, _element(hint, i)) for i, v in enumerate(value))
    if origin is dict:
        return isinstance(value, dict) and all(_fits(v, get_args(hint)[1]) for v in value.values())
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return isinstance(value, hint)


def _arms(hint: Any) -> tuple[Any, ...]:
    return get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)


def _element(hint: Any, index: int = 0) -> Any:
    args = get_args(hint)
    return args[0] if args[-1] is Ellipsis else args[index]


def _is_sizes(hint: Any) -> bool:
    return get_origin(hint) is tuple and get_args(hint) == (int, ...)


def _describe(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if get_origin(hint) is Literal:
        return "one of " + str(get_args(hint))
    if get_origin(hint) is tuple:
        args = get_args(hint)
        inner = f"{_describe(args[0])}s" if args[-1] is Ellipsis else f"{len(args)} {_describe(args[0])}s"
        return f"a list of {inner}"
    if get_origin(hint) is dict:
        return "a table"
    return getattr(hint, "__name__", str(hint))


# --------------------------------------------------------------- from TOML values


def coerce(section: str, key: str, value: Any, hint: Any, parse: Callable[[str], Any] | None = None) -> Any:
    """``value`` (from TOML or ``--set``) as the type ``hint`` says; a TypeError naming the key otherwise.

    Lists become tuples, ints widen to floats, ``"none"`` is ``None`` where the field may be
    ``None``, and a string for a field that is not one goes through ``parse`` when given.
    """
    arms = _arms(hint)
    if type(None) in arms and (value is None or (isinstance(value, str) and value.lower() == "none")):
        return None
    if isinstance(value, str) and parse is not None and str not in arms:
        return parse(value)
    hint = next((a for a in arms if a is not type(None) and _fits(value, a)), arms[0])
    origin = get_origin(hint)
    if origin is tuple:
        fixed = get_args(hint)[-1] is not Ellipsis
        if not isinstance(value, (list, tuple)) or (fixed and len(value) != len(get_args(hint))):
            raise TypeError(f"[{section}] {key} must be {_describe(hint)}, got {value!r}")
        return tuple(coerce(section, f"{key}[{i}]", v, _element(hint, i)) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"[{section}] {key} must be a table, got {type(value).__name__}")
        return {k: coerce(section, f"{key}.{k}", v, get_args(hint)[1]) for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {float: float, int: int, bool: bool, str: str}.get(hint)
    if expected is not None and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
        raise TypeError(f"[{section}] {key} must be {expected.__name__}, got {value!r}")
    return value


def unknown_keys(name: str, values: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse keys of ``[name]`` that no field has (a typo must not fall back to a default)."""
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown key(s) in [{name}]: {sorted(unknown)}")


def section_values(cls: type, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that are fields of ``cls``, coerced to their types."""
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return {k: coerce(name, k, v, hints[k], fields[k].metadata.get("parse")) for k, v in values.items() if k in fields}


def section_from_dict(cls: type, name: str, values: Mapping[str, Any]) -> Any:
    """The section ``cls`` from the table ``[name]``, rejecting unknown keys."""
    unknown_keys(name, values, (f.name for f in dataclasses.fields(cls)))
    return cls(**section_values(cls, name, values))


def parse_override(text: str) -> tuple[str, str, Any]:
    """``"section.key=value"`` -> ``(section, key, value)``; the value is parsed as TOML."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ValueError(f"--set expects section.key=value, got {text!r}")
    lhs, rhs = text.split("=", 1)
    section, key = lhs.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {rhs.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = rhs.strip()  # bare strings need no quotes on the command line
    return section, key, value


def bundled_config(name: str) -> Path:
    """Path of a config shipped in the package: ``dacl``, ``diffaug``, ``tiny``, ``diffaug-tiny``."""
    from importlib.resources import files

    return Path(str(files("dacl") / "configs" / f"{name}.toml"))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML config file.

    ``path`` is a file, or the bare name of a config shipped with the package
    (``--config dacl`` works from any folder, also with dacl installed from a wheel).
    """
    path = Path(path)
    if not path.is_file() and path.suffix == "" and path.parent == Path("."):
        path = bundled_config(path.name)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config {path} is not valid TOML: {err}") from err


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """``{section: {key: value}}`` as TOML text (what :func:`read_config_file` reads back)."""
    lines: list[str] = []
    for section, values in tables.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in values.items())
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------- command-line flags


def option(
    default: Any,
    help: str,
    *flags: str,
    off: str | None = None,
    off_help: str | None = None,
    group: str | None = None,
    parse: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
    default_text: str | None = None,
) -> Any:
    """A section field that has command-line flags (see :func:`add_options`).

    ``flags`` set the value (a bool field's flag sets it true); ``off`` is one more flag that
    sets a bool false or any other field ``None``. ``parse`` turns a command-line (or TOML)
    string into the value; ``choices`` lists the values a ``str`` flag accepts (a ``Literal`` field
    lists its own); ``default_text`` replaces the default shown in the help.
    """
    meta = {
        "help": help,
        "flags": flags,
        "off": off,
        "off_help": off_help,
        "group": group,
        "parse": parse,
        "metavar": metavar,
        "choices": choices,
        "default_text": default_text,
    }
    return dataclasses.field(default=default, metadata=meta)


def add_options(parser: argparse.ArgumentParser, sections: Iterable[tuple[str, type]]) -> None:
    """Add the flags of every field of each ``(name, section class)`` that declares some.

    The value lands in ``args`` as ``"name.field"`` only when the flag is given (read it
    with :func:`given_options`), so a flag overrides a config file and a default does not.
    """
    groups: dict[str, Any] = {}
    for name, cls in sections:
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if not (meta.get("flags") or meta.get("off")):
                continue
            title = meta.get("group")
            target = groups.setdefault(title, parser.add_argument_group(title)) if title else parser
            _add_field_flags(target, f"{name}.{f.name}", f, hints[f.name])


def _add_field_flags(target: Any, dest: str, f: dataclasses.Field[Any], hint: Any) -> None:
    meta = f.metadata
    arms = [a for a in _arms(hint) if a is not type(None)]
    is_bool = arms == [bool]
    if meta["flags"]:
        kind: dict[str, Any] = {"action": "store_true"} if is_bool else _value_kind(f, arms[0])
        target.add_argument(*meta["flags"], dest=dest, default=argparse.SUPPRESS, help=_help(f, is_bool), **kind)
    if meta["off"]:
        off: dict[str, Any] = {"action": "store_false"} if is_bool else {"action": "store_const", "const": None}
        target.add_argument(meta["off"], dest=dest, default=argparse.SUPPRESS, help=meta["off_help"], **off)


def _value_kind(f: dataclasses.Field[Any], hint: Any) -> dict[str, Any]:
    meta = f.metadata
    kind: dict[str, Any] = {"metavar": meta["metavar"] or meta["flags"][-1].lstrip("-").replace("-", "_").upper()}
    if meta["parse"] is not None:
        kind["type"] = _argparse_type(meta["parse"])
    elif meta["choices"] is not None or get_origin(hint) is Literal:
        kind.update(choices=list(meta["choices"] or get_args(hint)), metavar=None)
    else:
        kind["type"] = hint
    return kind


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__  # argparse names the type in "invalid ... value" messages
    return convert


def _help(f: dataclasses.Field[Any], is_bool: bool) -> str:
    meta = f.metadata
    if is_bool:
        return meta["help"]
    shown = meta["default_text"] or _show(f.default)
    return f"{meta['help']} (default {shown})"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(_show(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def given_options(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """The flags of section ``name`` given on the command line: ``{field: value}``."""
    prefix = f"{name}."
    return {k[len(prefix) :]: v for k, v in vars(args).items() if k.startswith(prefix)}
