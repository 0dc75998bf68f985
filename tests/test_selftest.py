"""``gpuplanner --selftest``: passes on a healthy install, and names the failed step (no traceback) otherwise."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpuplanner import selftest

REPO = Path(__file__).resolve().parents[1]


def _run(**kwargs) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = selftest.run_selftest(stream=out, **kwargs)
    return code, out.getvalue().splitlines()


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform says it for every top-level window
def test_selftest_passes_in_process(qapp, isolated_user_dir):
    code, lines = _run()
    assert code == 0, "\n".join(lines)
    steps = [line for line in lines if line.startswith(("ok", "FAIL"))]
    assert len(steps) == len(selftest.STEPS)
    assert all(line.startswith("ok") for line in steps)
    assert lines[-1].startswith("selftest passed")
    assert any("PDF export" in line and "KiB" in line for line in lines)
    # it ran in a throw-away user folder and put the test's own back
    assert os.environ["GPUPLANNER_USER_DIR"] == str(isolated_user_dir)
    assert list(isolated_user_dir.iterdir()) == []


def test_gpuplanner_selftest_command_exits_0(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "GPUPLANNER_SELFTEST_SCREENSHOT": str(tmp_path / "w.png"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "gpuplanner", "--selftest"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "selftest passed" in run.stdout
    assert (tmp_path / "w.png").stat().st_size > 1000


def test_missing_sample_plan_is_a_clear_failure(tmp_path):
    code, lines = _run(plan_path=tmp_path / "nowhere.gpuplan")
    assert code == 1
    assert lines[-2].startswith("FAIL [2/") and "nowhere.gpuplan is missing" in lines[-2]
    assert lines[-1] == "selftest FAILED"
    assert not any("Traceback" in line for line in lines)


def test_broken_plan_file_names_the_step(tmp_path):
    broken = tmp_path / "broken.gpuplan"
    broken.write_text("{ this is not json", encoding="utf-8")
    code, lines = _run(plan_path=broken)
    assert code == 1
    (failure,) = [line for line in lines if line.startswith("FAIL")]
    assert failure.startswith("FAIL [3/") and "load sample plan" in failure
    assert "broken.gpuplan" in failure
    assert any(line.strip().startswith("fix:") for line in lines)  # the plan file error's own advice
    assert lines[-1] == "selftest FAILED"


def test_a_missing_module_says_what_cannot_be_loaded(monkeypatch):
    def lost(ctx):
        import gpuplanner.no_such_part  # noqa: F401

    monkeypatch.setattr(selftest, "STEPS", (*selftest.STEPS[:1], ("lost part", lost)))
    code, lines = _run()
    assert code == 1
    assert "FAIL [2/2] lost part" in lines[-2]
    assert "gpuplanner.no_such_part" in lines[-2] and "reinstall" in lines[-2]


def test_traceback_only_on_request(monkeypatch):
    def boom(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(selftest, "STEPS", (("boom", boom),))
    code, lines = _run()
    assert code == 1 and lines == ["FAIL [1/1] boom: RuntimeError: boom", "selftest FAILED"]
    monkeypatch.setenv("GPUPLANNER_SELFTEST_TRACEBACK", "1")
    code, lines = _run()
    assert any(line.startswith("Traceback") for line in lines)


def test_selftest_chooses_offscreen_only_when_the_caller_did_not(monkeypatch):
    seen = {}

    def look(ctx):
        seen["platform"] = os.environ.get("QT_QPA_PLATFORM")
        seen["user"] = os.environ.get("GPUPLANNER_USER_DIR")
        return "looked"

    monkeypatch.setattr(selftest, "STEPS", (("look", look),))
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert _run()[0] == 0
    assert seen["platform"] == "offscreen"
    assert "QT_QPA_PLATFORM" not in os.environ  # put back as it was
    monkeypatch.setenv("QT_QPA_PLATFORM", "minimal")
    assert _run()[0] == 0
    assert seen["platform"] == "minimal"
    assert seen["user"] != os.environ.get("GPUPLANNER_USER_DIR")


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_a_dialog_the_window_opens_cannot_hang_the_selftest(qapp, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMainWindow, QMessageBox

    import gpuplanner.app

    def window_that_asks(plan_path=None):
        QMessageBox.warning(None, "Oops", "the plan is broken")  # modal: blocks until someone answers
        window = QMainWindow()
        window.setObjectName("mainWindow")
        return window

    monkeypatch.setattr(gpuplanner.app, "create_main_window", window_that_asks)
    steps = dict(selftest.STEPS)
    monkeypatch.setattr(
        selftest, "STEPS", (("start Qt", steps["start Qt"]), ("main window", steps["main window"]))
    )
    code, lines = _run(plan_path=tmp_path / "any.gpuplan")
    assert code == 1
    assert (
        "FAIL [2/2] main window: the window opened a dialog nobody could answer: 'Oops': the plan is broken"
        in lines
    )
