"""``gpuplanner export PLAN -o PDF [--page-size a4|letter]``: exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from export.conftest import sample_plan_paths
from export.test_pdf_files import make_read_only
from gpuplanner.export.cli import main


@pytest.fixture
def plan_path():
    return sample_plan_paths()[0]


def test_exports_and_exits_0(qapp, plan_path, tmp_path, capsys):
    out = tmp_path / "report.pdf"
    assert main([str(plan_path), "-o", str(out), "--page-size", "letter"]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert str(out) in capsys.readouterr().out


def test_missing_folder_exits_2_with_a_fix(qapp, plan_path, tmp_path, capsys):
    assert main([str(plan_path), "-o", str(tmp_path / "missing" / "x.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpuplanner: error: ")
    assert "does not exist" in err and "fix: " in err


def test_read_only_folder_exits_2(qapp, plan_path, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    make_read_only(folder, monkeypatch)
    try:
        assert main([str(plan_path), "-o", str(folder / "x.pdf")]) == 2
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err
    assert "gpuplanner: error: " in err and "not writable" in err and "fix: " in err


def test_missing_plan_exits_2(qapp, tmp_path, capsys):
    assert main([str(tmp_path / "none.gpuplan"), "-o", str(tmp_path / "x.pdf")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_output_must_be_a_pdf(qapp, plan_path, tmp_path, capsys):
    assert main([str(plan_path), "-o", str(tmp_path / "x.png")]) == 2
    assert "fix: " in capsys.readouterr().err


def test_bad_page_size_is_a_usage_error(plan_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main([str(plan_path), "--page-size", "a3"])
    assert caught.value.code == 2


def test_entry_point_without_a_display(plan_path, tmp_path):
    """The real command, in a process with no display and no Qt platform chosen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "report.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "gpuplanner", "export", str(plan_path), "-o", str(out)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert done.stderr == ""
