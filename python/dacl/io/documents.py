"""Small documents that dacl reads back: JSON objects with a size cap, and short excerpts for messages.

A manifest, a split, a shard's identity record, ``embedder.json`` or ``history.json``
may come from someone else, so reading one is bounded (:data:`MAX_JSON_BYTES`),
must be UTF-8 JSON holding an object, and any failure is one ``ValueError``
naming the file. Messages quote file content only through :func:`excerpt`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The largest JSON document read (a dataset manifest lists one error line per bad record).
MAX_JSON_BYTES = 64 << 20


def excerpt(text: str, limit: int = 40) -> str:
    """At most ``limit`` characters of ``text`` for a message: control characters become ``?``."""
    cut = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return cut + ("..." if len(text) > limit else "")


def listing(items: Sequence[str], k: int = 10) -> str:
    """The first ``k`` of ``items`` joined by commas, and how many more there are."""
    shown = ", ".join(items[:k])
    return shown + (f", ... ({len(items) - k} more)" if len(items) > k else "")


def read_json_object(path: Path, what: str | None = None, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object in ``path``; a ``ValueError`` naming the file (and, if given, ``what`` it
    should be) when it is too large, not UTF-8, not JSON, or JSON but not an object.

    A missing or unreadable file is the ``OSError`` of opening it.
    """
    path = Path(path)
    suffix = f"; not a {what}" if what else ""
    if path.stat().st_size > max_bytes:
        raise ValueError(f"{path} is larger than {max_bytes >> 20} MiB{suffix}")
    raw = path.read_bytes()
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}){suffix}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}){suffix}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path} should hold a JSON object, found {_json_kind(obj)}{suffix}")
    return obj


def _json_kind(obj: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if obj is None else kinds.get(type(obj), type(obj).__name__)
