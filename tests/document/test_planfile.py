"""Plan files: round trip, clear messages for broken files, atomic save."""

from __future__ import annotations

import json
import os

import pytest

from gpuplanner.core.errors import PlanFileError
from gpuplanner.core.quick import quick_plan
from gpuplanner.document import planfile
from gpuplanner.document.planfile import load_plan, plan_to_json, save_plan


@pytest.fixture
def plan():
    return quick_plan(model="meta-llama/Llama-3.1-8B-Instruct", gpu="h100-sxm", tp=2)


def test_round_trip(tmp_path, plan):
    path = save_plan(plan, tmp_path / "a.gpuplan")
    assert load_plan(path) == plan
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["plan"]["model"] == plan.model


def test_truncated_file_names_file_and_line(tmp_path, plan):
    p = tmp_path / "cut.gpuplan"
    p.write_text(plan_to_json(plan)[:300])
    with pytest.raises(PlanFileError) as e:
        load_plan(p)
    text = str(e.value)
    assert "cut.gpuplan" in text and "line" in text and "ends early" in text


def test_future_version_is_refused_with_the_version(tmp_path, plan):
    data = json.loads(plan_to_json(plan))
    data["schema_version"] = 99
    p = tmp_path / "future.gpuplan"
    p.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="schema_version 99") as e:
        load_plan(p)
    assert "newer" in str(e.value) and e.value.fix


def test_hand_edited_wrong_value_names_the_place(tmp_path, plan):
    data = json.loads(plan_to_json(plan))
    data["plan"]["rig"]["nodes"][0]["gpus"][1]["slot"] = -4
    data["plan"]["workload"]["concurrency"] = 0
    p = tmp_path / "edited.gpuplan"
    p.write_text(json.dumps(data))
    with pytest.raises(PlanFileError) as e:
        load_plan(p)
    text = str(e.value)
    assert "plan.rig.nodes[0].gpus[1].slot" in text
    assert "plan.workload.concurrency" in text


def test_unknown_field_is_named(tmp_path, plan):
    data = json.loads(plan_to_json(plan))
    data["plan"]["worklaod"] = {}
    p = tmp_path / "typo.gpuplan"
    p.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="worklaod"):
        load_plan(p)


@pytest.mark.parametrize("content", ["", "[1, 2]", '{"schema_version": "one", "plan": {}}', "\x00\x01"])
def test_other_broken_files(tmp_path, content):
    p = tmp_path / "x.gpuplan"
    p.write_text(content)
    with pytest.raises(PlanFileError) as e:
        load_plan(p)
    assert "x.gpuplan" in str(e.value)


def test_missing_file_and_folder(tmp_path, plan):
    with pytest.raises(PlanFileError, match="no such file"):
        load_plan(tmp_path / "nope.gpuplan")
    with pytest.raises(PlanFileError, match="folder does not exist"):
        save_plan(plan, tmp_path / "missing" / "a.gpuplan")


def test_crash_while_saving_keeps_the_old_plan(tmp_path, plan, monkeypatch):
    folder = tmp_path / "plans"
    folder.mkdir()
    target = folder / "keep.gpuplan"
    save_plan(plan, target)
    before = target.read_text()

    def boom(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(planfile.os, "replace", boom)
    renamed = plan.model_copy(update={"name": "changed"})
    with pytest.raises(PlanFileError, match="No space left"):
        save_plan(renamed, target)
    assert target.read_text() == before
    assert sorted(os.listdir(folder)) == ["keep.gpuplan"]  # no temporary file left behind
