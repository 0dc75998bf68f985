"""A cache of the validated built-in catalog tables, so that a start does not parse and validate the
TOML files again when none of them changed.

``cached_tables(folder, build)`` returns the tables ``build()`` makes from the catalog files in
``folder``, from a pickle in the user's cache folder (``paths.user_cache_dir()``) when its key still
matches: the package's, Python's and pydantic's versions, the folder's resolved path and, for every
catalog file, its name, size and modification time (nanoseconds). Anything else (a file edited,
added or removed, another version, a cache file that is missing, truncated, corrupt or unreadable)
rebuilds the tables from the files, exactly as without a cache, and writes a fresh cache file
(atomically; a folder that cannot be written only means no cache). A broken catalog raises from
``build()`` as always and writes nothing. Imported models and custom GPUs are not cached: they are
read on each load (``catalog.load_catalog``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pydantic

from gpuplanner import __version__, paths

log = logging.getLogger(__name__)

FORMAT = 1  # bumped when what is pickled changes shape
Tables = dict[str, dict[str, Any]]


def cache_key(folder: Path, filenames: Iterable[str]) -> tuple[object, ...]:
    """What the cached tables depend on; any difference means the cache is stale."""
    files = []
    for name in sorted(filenames):
        try:
            content = (folder / name).read_bytes()  # ~300 kB in all: hashed in a millisecond or two
        except OSError:
            files.append((name, -1, ""))  # missing or unreadable now: ``build()`` reports it
        else:
            # the content itself, not its modification time: a file system with a coarse clock (FAT,
            # HFS+: whole seconds) could hide a same-size edit made within the same second
            files.append((name, len(content), hashlib.sha256(content).hexdigest()))
    return (FORMAT, __version__, sys.version, pydantic.VERSION, tuple(files))


def cache_file(folder: Path) -> Path:
    """The cache file of the catalog folder ``folder``: one for the built-in catalogs wherever they are
    (a one-file frozen app unpacks them to a new temporary folder each time), one per other folder."""
    try:
        builtin = paths.catalogs_dir().resolve()
    except FileNotFoundError:
        builtin = None
    if folder.resolve() == builtin:
        return paths.user_cache_dir() / "catalog.pickle"
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return paths.user_cache_dir() / f"catalog-{digest}.pickle"


def _read(path: Path, key: tuple[object, ...]) -> Tables | None:
    try:
        with path.open("rb") as handle:
            stored_key, tables = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or corrupt cache file (any unpickling error) is rebuilt
        log.info("catalog cache %s unreadable (%s): rebuilt", path, type(exc).__name__)
        return None
    if stored_key != key or not isinstance(tables, dict):
        return None
    return tables


def _write(path: Path, key: tuple[object, ...], tables: Tables) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump((key, tables), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError) as exc:
        log.info("catalog cache %s not written: %s", path, exc)


def cached_tables(folder: Path, filenames: Iterable[str], build: Callable[[], Tables]) -> Tables:
    """The validated tables of the catalog files ``filenames`` in ``folder``: from the cache when it is
    current, else ``build()`` (then cached)."""
    names = list(filenames)
    key = cache_key(folder, names)
    path = cache_file(folder)
    tables = _read(path, key)
    if tables is not None:
        return tables
    tables = build()
    if cache_key(folder, names) == key:  # not edited while it was read: safe to cache
        _write(path, key, tables)
    return tables
