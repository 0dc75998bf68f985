"""What saving promises: atomic (a kill at any moment leaves the old file or the new one), no
temporary file left behind after the next save, permissions and symbolic links kept, and reopening
shows exactly what was saved."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzzing import kill_during_saves

from gpuplanner.core.errors import PlanFileError
from gpuplanner.core.quick import quick_plan
from gpuplanner.document import planfile
from gpuplanner.document.planfile import clean_stale_temps, load_plan, plan_to_json, save_plan

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions, signals and links")


def small_plan(name: str = "small"):
    plan = quick_plan(model="llama-3.1-70b", gpu="h100-sxm", gpus_per_node=8, tp=8)
    return plan.model_copy(update={"name": name})


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".~gpuplanner-" in p.name]


def test_a_failed_rename_removes_the_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "plan.gpuplan"
    save_plan(small_plan("old"), target)

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(planfile.os, "replace", refuse)
    with pytest.raises(PlanFileError, match="No space left"):
        save_plan(small_plan("new"), target)
    assert temps(tmp_path) == []
    assert load_plan(target).name == "old"


def test_an_interrupted_save_removes_the_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "plan.gpuplan"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(planfile.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_plan(small_plan(), target)
    assert temps(tmp_path) == [] and not target.exists()


@posix_only
def test_stale_temporary_files_of_dead_saves_are_removed_at_the_next_save(tmp_path):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    stale = tmp_path / f".plan.gpuplan.~gpuplanner-{dead_pid}-abcd1234.tmp"
    stale.write_text("half a plan")
    alive = tmp_path / f".other.gpuplan.~gpuplanner-{os.getppid()}-abcd1234.tmp"  # a save still running
    alive.write_text("being written")
    unrelated = tmp_path / ".notes.tmp"
    unrelated.write_text("not ours")
    save_plan(small_plan(), tmp_path / "plan.gpuplan")
    assert not stale.exists() and alive.exists() and unrelated.exists()
    os.utime(alive, (time.time() - 2 * 86400,) * 2)  # a day old: its save is long over
    assert clean_stale_temps(tmp_path) == [alive]


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_a_new_file_gets_0666_minus_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = save_plan(small_plan(), tmp_path / "new.gpuplan")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@posix_only
def test_saving_over_a_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "shared.gpuplan"
    save_plan(small_plan("old"), path)
    path.chmod(0o664)
    save_plan(small_plan("new"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    path.chmod(0o600)
    save_plan(small_plan("newer"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@posix_only
def test_saving_to_a_symbolic_link_writes_the_file_it_points_to(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "plan.gpuplan"
    save_plan(small_plan("old"), real)
    link = tmp_path / "link.gpuplan"
    link.symlink_to(real)
    save_plan(small_plan("through the link"), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load_plan(real).name == "through the link"
    assert temps(tmp_path) == [] and temps(real_dir) == []


def test_reopening_a_saved_plan_gives_the_same_text(tmp_path):
    plan = small_plan()
    path = save_plan(plan, tmp_path / "p.gpuplan")
    assert plan_to_json(load_plan(path)) == plan_to_json(plan) == path.read_text(encoding="utf-8")


def test_a_file_name_too_long_is_a_clear_error(tmp_path):
    with pytest.raises(PlanFileError, match="cannot write here"):
        save_plan(small_plan(), tmp_path / ("x" * 300 + ".gpuplan"))


@posix_only
def test_killed_while_saving_leaves_an_intact_file_and_no_temporary_file_after_the_next_save(tmp_path):
    counts = kill_during_saves(tmp_path, kills=4)
    assert counts == {"kills": 4, "corrupt_or_missing": 0, "stray_temps": 0}
