"""Torch files: written atomically, read weights-only.

A run directory may come from someone else, so reading one must never run
code: every torch file dacl reads (model, checkpoint) goes through
:func:`load_torch`, which loads tensors and plain containers only
(``weights_only=True``) and turns anything else into a ``ValueError`` naming
the file. :func:`reading` does the same for what goes wrong while using what
was loaded (a missing entry, a tensor of the wrong shape).
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from dacl.io.atomic import atomic_output

#: What to do about a file this version cannot use.
RETRAIN = "if an older dacl wrote it, train the run again (into a new --out)"


def torch_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` atomically (checkpoints: an interrupted save must not spoil ``--resume``)."""
    with atomic_output(path) as f:
        torch.save(obj, f)


def load_torch(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The dict saved in the torch file ``path``: tensors and plain containers only, never code.

    Raises:
        ValueError: the file holds other objects (unpickling them could run code), is
            truncated or damaged, or is not a dict at the top level.
        OSError: it cannot be opened (missing, permissions).
    """
    with open(path, "rb") as f:  # a missing or unreadable file is an OSError naming it
        try:
            obj = torch.load(f, map_location=map_location, weights_only=True)
        except MemoryError:
            raise
        except pickle.UnpicklingError as err:
            raise ValueError(
                f"{path} holds objects other than tensors and plain containers ({_refused_object(err)}), which "
                f"dacl never loads from a run directory (unpickling them can run code); {RETRAIN}"
            ) from err
        except Exception as err:  # noqa: BLE001  whatever torch raises on these bytes (OSError for a
            # truncated zip, RuntimeError, EOFError, ...), the file is at fault
            raise ValueError(
                f"{path} is not a readable torch file ({type(err).__name__}: {_first_line(err)}); "
                "it may be truncated or damaged"
            ) from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path} should hold a dict of tensors, found {type(obj).__name__}; {RETRAIN}")
    return obj


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Errors met while using what was loaded from ``path`` (a missing key, a tensor of the
    wrong shape, a wrong type) become one ValueError naming the file."""
    try:
        yield
    except (KeyError, IndexError, TypeError, AttributeError, RuntimeError, ValueError) as err:
        what = f"missing entry {err}" if isinstance(err, KeyError) else f"{type(err).__name__}: {_first_line(err)}"
        raise ValueError(f"{path} does not have the content this dacl expects ({what}); {RETRAIN}") from err


def _first_line(err: BaseException, limit: int = 160) -> str:
    text = (str(err).strip().splitlines() or [""])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refused_object(err: BaseException) -> str:
    """What torch's weights-only unpickler refused, e.g. ``GLOBAL posix.system``."""
    found = re.search(r"GLOBAL [\w.]{1,100}|unsupported operand \S{1,40}", str(err), re.IGNORECASE)
    return found.group(0).rstrip(".") if found else "an object that is not a tensor"
