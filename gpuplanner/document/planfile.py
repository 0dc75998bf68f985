"""Plan files (``*.gpuplan``): JSON with a ``schema_version``, read with clear errors, saved atomically.

Layout of a file::

    {
      "schema_version": 1,
      "app": "gpuplanner 0.1.0",
      "plan": { "name": ..., "rig": {...}, "model": ..., "layout": {...}, ... }
    }

Older files are migrated forward by ``_MIGRATIONS``; newer ones are refused with a message that
names the version. Saving writes a temporary file beside the target, flushes it to disk and
renames it over the old one, so a crash while saving never leaves a half-written plan (see
``save_plan`` for permissions, symbolic links and left-over temporary files).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpuplanner import __version__
from gpuplanner.core.errors import PlanFileError
from gpuplanner.core.limits import parse_json, read_text_limited
from gpuplanner.core.plan import Plan

SCHEMA_VERSION = 1
SUFFIX = ".gpuplan"

# version N -> function turning a version-N document into version N+1
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _location(loc: tuple[int | str, ...]) -> str:
    text = "plan"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _short(value: object) -> str:
    """A value as a message quotes it: a list of 10,000 GPUs or a 1 MB string is cut short."""
    if isinstance(value, dict | list | tuple):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe_validation(err: ValidationError) -> str:
    """The first five problems of ``err``, each with its place in the plan (``plan.rig.nodes[0]...``)."""
    lines = []
    for e in err.errors()[:5]:
        loc = _location(tuple(e["loc"]))
        lines.append(
            f"at {loc}: {e['msg']}" + (f" (got {_short(e['input'])})" if e["type"] != "missing" else "")
        )
    more = len(err.errors()) - 5
    if more > 0:
        lines.append(f"... and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(lines)


def _syntax_problem(text: str, source: str) -> Callable[[json.JSONDecodeError], str]:
    def describe(e: json.JSONDecodeError) -> str:
        truncated = e.pos >= len(text.rstrip()) - 1
        what = "the file ends early (truncated?)" if truncated else f"not valid JSON: {e.msg}"
        return f"{source}: line {e.lineno}, column {e.colno}: {what}"

    return describe


def plan_from_json(text: str, source: str = "<text>") -> Plan:
    """Parse a plan file's text. Raises PlanFileError naming ``source``, the place and the problem.

    Within the limits of :mod:`gpuplanner.core.limits`: finite numbers, 40 digits at most, 64
    levels of nesting, 32 MiB of text, and the plan's own field ranges.
    """
    if not text.strip():
        raise PlanFileError("the file is empty", fix="open another plan or restore a backup", where=source)
    data = parse_json(text, source=source, error=PlanFileError, on_syntax=_syntax_problem(text, source))
    if not isinstance(data, dict) or "plan" not in data:
        raise PlanFileError(
            "this is not a gpuplanner plan (no 'plan' object at the top)",
            fix="open a .gpuplan file saved by gpuplanner",
            where=source,
        )
    version = data.get("schema_version")
    if type(version) is not int or version < 1:
        raise PlanFileError(
            f"schema_version is {version!r}; expected a whole number from 1 to {SCHEMA_VERSION}",
            fix='set "schema_version": 1 for a hand-written plan',
            where=source,
        )
    if version > SCHEMA_VERSION:
        raise PlanFileError(
            f"the file has schema_version {version}, written by a newer gpuplanner; this version "
            f"({__version__}) reads up to {SCHEMA_VERSION}",
            fix="update gpuplanner to open it",
            where=source,
        )
    while version < SCHEMA_VERSION:
        data = _MIGRATIONS[version](data)
        version += 1
    try:
        return Plan.model_validate(data["plan"])
    except ValidationError as e:
        raise PlanFileError(
            describe_validation(e), fix="correct the value named above", where=source
        ) from None


def plan_to_json(plan: Plan) -> str:
    """The file text for ``plan``: stable key order, indented, defaults included (self-describing)."""
    body = {
        "schema_version": SCHEMA_VERSION,
        "app": f"gpuplanner {__version__}",
        "plan": plan.model_dump(mode="json"),
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a ``.gpuplan`` file. Raises PlanFileError with the file named on any problem."""
    p = Path(path)
    text = read_text_limited(p, error=PlanFileError, what="plan file (.gpuplan)")
    return plan_from_json(text, str(p))


_TEMP_MARK = ".~gpuplanner-"  # in every temporary file we write: .NAME.~gpuplanner-PID-TOKEN.tmp


def _temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name[:64]}{_TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # saves of this process run one at a time: a temp of ours is left over
    if os.name != "posix":
        return True  # no cheap check elsewhere; those are cleaned by age
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_temps(folder: Path, max_age_s: float = 24 * 3600) -> list[Path]:
    """Remove temporary files of earlier saves into ``folder`` that were cut short (a crash, a kill):
    those whose process is gone, or older than ``max_age_s``. Returns what was removed."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp") and _TEMP_MARK in name):
            continue
        try:
            pid = int(name.rsplit(_TEMP_MARK, 1)[1].split("-", 1)[0])
            stale = not _pid_alive(pid) or now - entry.stat(follow_symlinks=False).st_mtime > max_age_s
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except (ValueError, IndexError, OSError):
            continue
    return removed


def _new_file_mode() -> int:
    """0666 minus the umask: the bits any program's new file gets."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows has no handle on a folder to flush; NTFS journals the rename
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename is then as durable as they allow
    finally:
        os.close(fd)


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> Path:
    """Write ``plan`` atomically and durably; returns ``path``.

    The text goes to a temporary file beside the target, is flushed and fsynced, and is renamed over
    the target; then the folder is fsynced, so a crash or a kill at any moment leaves the old file or
    the new one, never a mix. A temporary file is removed on any failure, and ones left by a killed
    save are removed at the next save into the folder. The file keeps the permission bits of the
    file it replaces (a new file gets 0666 minus the umask); a symbolic link stays a link and the
    file it points to is written.
    """
    p = Path(path)
    try:
        target = Path(os.path.realpath(p)) if p.is_symlink() else p
        folder = target.parent if str(target.parent) else Path(".")
        folder_ok, is_folder = folder.is_dir(), target.is_dir()
    except OSError as e:  # e.g. a name longer than the file system allows
        raise PlanFileError(
            f"cannot write here: {e.strerror or e}",
            fix="choose a shorter name or another folder",
            where=str(p),
        ) from None
    if not folder_ok:
        raise PlanFileError("the folder does not exist", fix="choose an existing folder", where=str(p))
    if is_folder:
        raise PlanFileError("this is a folder, not a plan file", fix="choose a file name", where=str(p))
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = _new_file_mode()
    data = plan_to_json(plan).encode("utf-8")
    clean_stale_temps(folder)
    tmp = _temp_path(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as e:
        raise PlanFileError(
            f"cannot write here: {e.strerror or e}",
            fix="choose a folder you can write to, and a shorter name if it is very long",
            where=str(p),
        ) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PlanFileError(
            f"cannot save: {e.strerror or e}", fix="free some disk space or pick another folder", where=str(p)
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return p
