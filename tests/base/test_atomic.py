"""dacl.io.atomic: a failed write leaves the old file and no temp file behind."""

import json
import os
import stat

import pytest

from dacl.io.atomic import atomic_output, write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "manifest.json"
    write_json(target, {"version": 1})
    with pytest.raises(RuntimeError), atomic_output(target) as f:
        f.write(b'{"version": 2, "half')
        raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_strict_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "m.json", {"auroc": float("nan")}, strict=True)
    assert list(tmp_path.iterdir()) == []
    write_json(tmp_path / "m.json", {"auroc": float("nan")})  # manifests may hold NaN (kymatio meta)
    assert "NaN" in (tmp_path / "m.json").read_text()


def test_written_files_follow_the_umask(tmp_path):
    """Manifests and CSVs get the same permissions as the shards (0666 less the umask), not mkstemp's 0600."""
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "manifest.json", {"a": 1})
        with open(tmp_path / "plain.npy", "wb"):
            pass
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "manifest.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.npy").stat().st_mode) == 0o644
