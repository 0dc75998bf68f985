"""The file appears whole or not at all: a missing or read-only folder is a clear error, and a failure
or a cancel half-way leaves neither a partial PDF nor a temporary file behind."""

from __future__ import annotations

import errno
import os
import tempfile

import pytest

from export.conftest import sample_plan_paths
from gpuplanner.document.planfile import load_plan
from gpuplanner.export import pdf as pdf_module
from gpuplanner.export.pdf import ExportCancelled, ExportError, export_plan_pdf


@pytest.fixture
def plan():
    return load_plan(sample_plan_paths()[0])


def make_read_only(folder, monkeypatch):
    """chmod 555; as root (CI containers) that does not stop writes, so refuse them the way the OS would."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):

        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(pdf_module.tempfile, "mkstemp", refuse)


def test_writes_a_pdf_and_nothing_else(qapp, plan, tmp_path):
    written = export_plan_pdf(plan, tmp_path / "plan.pdf")
    assert written == tmp_path / "plan.pdf"
    assert written.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "user") == ["plan.pdf"]


def test_missing_folder_is_a_clear_error(qapp, plan, tmp_path):
    with pytest.raises(ExportError) as caught:
        export_plan_pdf(plan, tmp_path / "nowhere" / "plan.pdf")
    assert "does not exist" in caught.value.message
    assert caught.value.fix
    assert not (tmp_path / "nowhere").exists()


def test_read_only_folder_is_a_clear_error(qapp, plan, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    make_read_only(folder, monkeypatch)
    try:
        with pytest.raises(ExportError) as caught:
            export_plan_pdf(plan, folder / "plan.pdf")
        assert "not writable" in caught.value.message
        assert "fix:" in str(caught.value)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_failure_while_drawing_leaves_no_file_and_keeps_the_old_one(qapp, plan, tmp_path, monkeypatch):
    target = tmp_path / "plan.pdf"
    target.write_bytes(b"%PDF- the previous export")

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(pdf_module, "all_blocks", broken)
    with pytest.raises(RuntimeError):
        export_plan_pdf(plan, target)
    assert target.read_bytes() == b"%PDF- the previous export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "user") == ["plan.pdf"]


def test_cancel_from_progress_writes_nothing(qapp, plan, tmp_path):
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done < 2

    with pytest.raises(ExportCancelled):
        export_plan_pdf(plan, tmp_path / "plan.pdf", progress=progress)
    assert calls == [(1, calls[0][1]), (2, calls[0][1])]
    assert not (tmp_path / "plan.pdf").exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".part"]


def test_progress_sees_every_page(qapp, plan, tmp_path):
    seen = []
    export_plan_pdf(plan, tmp_path / "plan.pdf", progress=lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    assert seen == [(n, total) for n in range(1, total + 1)]


def test_unknown_page_size(qapp, plan, tmp_path):
    with pytest.raises(ExportError, match="unknown page size"):
        export_plan_pdf(plan, tmp_path / "plan.pdf", page_size="a3")


def test_temporary_files_live_next_to_the_target(qapp, plan, tmp_path, monkeypatch):
    """The rename is atomic only within one file system: the temporary file is made in the target folder."""
    folders = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        # tempfile is one module: the catalog cache's own atomic write (a first load in this user
        # folder) goes through it too; only the export's .part file is the subject here
        if kwargs.get("suffix") == ".part":
            folders.append(kwargs.get("dir"))
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf_module.tempfile, "mkstemp", spy)
    export_plan_pdf(plan, tmp_path / "plan.pdf")
    assert folders == [tmp_path]
