"""Plan files (``*.gpuplan``): JSON with a ``schema_version``, read with clear errors, saved atomically.

Layout of a file::

    {
      "schema_version": 1,
      "app": "gpuplanner 0.1.0",
      "plan": { "name": ..., "rig": {...}, "model": ..., "layout": {...}, ... }
    }

Older files are migrated forward by ``_MIGRATIONS``; newer ones are refused with a message that
names the version. Saving writes a temporary file beside the target, flushes it to disk and
renames it over the old one, so a crash while saving never leaves a half-written plan.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpuplanner import __version__
from gpuplanner.core.errors import PlanFileError
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


def _describe_validation(err: ValidationError) -> str:
    lines = []
    for e in err.errors()[:5]:
        loc = _location(tuple(e["loc"]))
        lines.append(f"at {loc}: {e['msg']}" + (f" (got {e['input']!r})" if e["type"] != "missing" else ""))
    more = len(err.errors()) - 5
    if more > 0:
        lines.append(f"... and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(lines)


def plan_from_json(text: str, source: str = "<text>") -> Plan:
    """Parse a plan file's text. Raises PlanFileError naming ``source``, the place and the problem."""
    if not text.strip():
        raise PlanFileError("the file is empty", fix="open another plan or restore a backup", where=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        truncated = e.pos >= len(text.rstrip()) - 1
        what = "the file ends early (truncated?)" if truncated else f"not valid JSON: {e.msg}"
        raise PlanFileError(
            f"line {e.lineno}, column {e.colno}: {what}",
            fix="restore the file from a backup or fix it in a text editor",
            where=source,
        ) from None
    if not isinstance(data, dict) or "plan" not in data:
        raise PlanFileError(
            "this is not a gpuplanner plan (no 'plan' object at the top)",
            fix="open a .gpuplan file saved by gpuplanner",
            where=source,
        )
    version = data.get("schema_version")
    if not isinstance(version, int) or version < 1:
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
            _describe_validation(e), fix="correct the value named above", where=source
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
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError("no such file", fix="check the path", where=str(p)) from None
    except IsADirectoryError:
        raise PlanFileError(
            "this is a folder, not a plan file", fix="pick a .gpuplan file", where=str(p)
        ) from None
    except UnicodeDecodeError:
        raise PlanFileError("not a text file", fix="pick a .gpuplan file", where=str(p)) from None
    except OSError as e:
        raise PlanFileError(
            f"cannot read it: {e.strerror}", fix="check the file's permissions", where=str(p)
        ) from None
    return plan_from_json(text, str(p))


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> Path:
    """Write ``plan`` atomically: a temporary file in the same folder, fsync, then rename over ``path``."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise PlanFileError("the folder does not exist", fix="choose an existing folder", where=str(p))
    text = plan_to_json(plan)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise PlanFileError(
            f"cannot write here: {e.strerror}", fix="choose a folder you can write to", where=str(p)
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise PlanFileError(
            f"cannot save: {e.strerror}", fix="free some disk space or pick another folder", where=str(p)
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
