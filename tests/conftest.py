"""Fixtures shared by the test folders (helpers that are plain functions live in ``helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from helpers import DIFFAUG_TINY

from dacl.training.config import Config, load_config


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """torch on one CPU thread for a whole test module, then as before.

    Tiny models run fastest on one thread, and the CI machine's 2 cores are shared; modules that
    train use it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny() -> Config:
    """The shipped tiny DiffAug config, on the CPU."""
    return load_config(DIFFAUG_TINY).replace(train={"device": "cpu"})
