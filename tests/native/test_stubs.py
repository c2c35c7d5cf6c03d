"""The hand-written stub ``python/dacl/_native.pyi`` matches the extension.

mypy's stubtest imports ``dacl._native`` and compares every name, parameter
(kind, order, default) and class flag in the stub with what the runtime
reports, so a signature changed in ``rust/python/*.rs`` without the stub (or
the reverse) fails here.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = ROOT / ".mypy-stubtest-allowlist"


@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (it is in the 'test' extra: pip install -e '.[test]')",
)
def test_native_stub_matches_runtime(tmp_path: Path) -> None:
    # Run in tmp_path: stubtest writes a .mypy_cache into its working directory
    # (it ignores MYPY_CACHE_DIR); the stub is found next to the installed package.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "dacl._native", "--allowlist", str(ALLOWLIST)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        "python/dacl/_native.pyi disagrees with the dacl._native runtime "
        "(fix the stub or the #[pyo3(signature)] in rust/python/*.rs):\n" + result.stdout + result.stderr
    )
