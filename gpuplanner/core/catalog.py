"""The built-in catalogs (GPUs, links, models, precisions, engines, node templates) and their lookup.

``load_catalog()`` reads the TOML files under ``catalogs/`` (see :mod:`gpuplanner.paths`), validates
every entry against its spec in :mod:`gpuplanner.core.specs` and checks the cross-references between
files. Anything wrong becomes a :class:`~gpuplanner.core.errors.CatalogError` that names the file, the
entry and the field. Models a person imported (``gpuplanner import-model``) are read from the user's
models folder, custom GPUs (``gpuplanner catalog add-gpu``) from the user's GPUs folder; a broken one
is skipped with a warning instead of stopping the app.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gpuplanner import paths
from gpuplanner.core.catalog_cache import cached_tables
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.limits import MAX_FILE_BYTES
from gpuplanner.core.specs import (
    EngineProfile,
    GpuSpec,
    LinkSpec,
    ModelSpec,
    NodeTemplate,
    Precision,
    SourceRef,
)
from gpuplanner.core.user_gpus import USER_SOURCE, load_user_gpus

log = logging.getLogger(__name__)

# file name, TOML array name, spec class, key of the id field, the CLI listing that shows them
_FILES: dict[str, tuple[str, str, type[BaseModel], str, str]] = {
    "sources": ("sources.toml", "source", SourceRef, "key", "see catalogs/sources.toml"),
    "links": ("links.toml", "link", LinkSpec, "id", "run `gpuplanner catalog links` to see them"),
    "gpus": ("gpus.toml", "gpu", GpuSpec, "id", "run `gpuplanner catalog gpus` to see them"),
    "precisions": (
        "precisions.toml",
        "precision",
        Precision,
        "id",
        "run `gpuplanner catalog precisions` to see them",
    ),
    "engines": (
        "engines.toml",
        "engine",
        EngineProfile,
        "id",
        "run `gpuplanner catalog engines` to see them",
    ),
    "models": ("models.toml", "model", ModelSpec, "id", "run `gpuplanner catalog models` to see them"),
    "nodes": ("nodes.toml", "node", NodeTemplate, "id", "see catalogs/nodes.toml for the server templates"),
}


def normalize(ref: str) -> str:
    """The lookup key of an id or alias: lower case, without spaces, '-', '_' and '.'."""
    return "".join(ch for ch in ref.lower() if ch not in " -_.\t")


def _names(spec: BaseModel) -> list[str]:
    """Every name a spec answers to: its id, its aliases and, for a repo id, the part after '/'."""
    ident = str(getattr(spec, "id", None) or getattr(spec, "key", ""))
    names = [ident, *getattr(spec, "aliases", ())]
    if "/" in ident:
        names.append(ident.rsplit("/", 1)[1])
    return names


@dataclass(frozen=True)
class Catalog:
    """Read-only specs by id, with lookup by id or alias (case, spaces, '-', '_', '.' ignored)."""

    gpus: Mapping[str, GpuSpec]
    links: Mapping[str, LinkSpec]
    models: Mapping[str, ModelSpec]
    precisions: Mapping[str, Precision]
    engines: Mapping[str, EngineProfile]
    nodes: Mapping[str, NodeTemplate]
    sources: Mapping[str, SourceRef]
    warnings: tuple[str, ...] = ()
    user_gpus: frozenset[str] = frozenset()
    _index: dict[str, dict[str, set[str]]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, dict[str, set[str]]] = {}
        for kind in ("gpus", "links", "models", "precisions", "engines", "nodes"):
            table: dict[str, set[str]] = {}
            for ident, spec in getattr(self, kind).items():
                for name in _names(spec):
                    table.setdefault(normalize(name), set()).add(ident)
            index[kind] = table
        object.__setattr__(self, "_index", index)

    # -- lookup -------------------------------------------------------------------------------------
    def _lookup(self, kind: str, ref: str) -> Any:
        """The spec ``ref`` names (id, any case, name or alias), None when none does; ambiguous raises."""
        specs: Mapping[str, Any] = getattr(self, kind)
        if ref in specs:
            return specs[ref]
        lowered = {ident.lower(): ident for ident in specs}
        if ref.lower() in lowered:
            return specs[lowered[ref.lower()]]
        hits = self._index[kind].get(normalize(ref), set())
        if len(hits) == 1:
            return specs[next(iter(hits))]
        if len(hits) > 1:
            raise CatalogError(
                f"{_FILES[kind][1]} '{ref}' is ambiguous: it could be {', '.join(sorted(hits))}",
                fix="use the full id",
            )
        return None

    def _find(self, kind: str, ref: str) -> Any:
        spec = self._lookup(kind, ref)
        if spec is not None:
            return spec
        singular = _FILES[kind][1]
        raise CatalogError(
            # the closest names cost a fuzzy match over the whole table: only for a message people read
            f"unknown {singular} '{ref}'{self._closest(kind, ref)}",
            fix=_FILES[kind][4],
        )

    def _closest(self, kind: str, ref: str) -> str:
        ids = list(getattr(self, kind))
        by_key = {normalize(name): ident for ident in ids for name in _names(getattr(self, kind)[ident])}
        close_keys = difflib.get_close_matches(normalize(ref), list(by_key), n=12, cutoff=0.3)
        close: list[str] = []
        for key in close_keys:
            if by_key[key] not in close:
                close.append(by_key[key])
        if len(close) < 3:
            for ident in difflib.get_close_matches(ref, ids, n=3, cutoff=0.0):
                if ident not in close:
                    close.append(ident)
        return f"; closest: {', '.join(close[:3])}" if close else ""

    def find(self, kind: str, ref: str | None) -> Any:
        """Like the lookups below but None for a missing or unknown ``ref`` (display code, tooltips).

        ``kind`` is a table name: 'gpus', 'links', 'models', 'precisions', 'engines' or 'nodes'.
        """
        if not ref:
            return None
        try:
            return self._lookup(kind, ref)  # no "closest" suggestions: nobody reads them here
        except CatalogError:
            return None

    def gpu(self, ref: str) -> GpuSpec:
        """The GPU whose id or alias is ``ref`` (e.g. 'h100-sxm', 'H100 SXM5 80GB')."""
        return self._find("gpus", ref)  # type: ignore[no-any-return]

    def link(self, ref: str) -> LinkSpec:
        """The interconnect whose id or alias is ``ref`` (e.g. 'nvlink4', 'pcie4-x16-switch')."""
        return self._find("links", ref)  # type: ignore[no-any-return]

    def model(self, ref: str) -> ModelSpec:
        """The model whose Hugging Face repo id, repo name or alias is ``ref``."""
        return self._find("models", ref)  # type: ignore[no-any-return]

    def precision(self, ref: str) -> Precision:
        """The number format whose id or alias is ``ref`` (e.g. 'bf16', 'awq-int4')."""
        return self._find("precisions", ref)  # type: ignore[no-any-return]

    def engine(self, ref: str) -> EngineProfile:
        """The engine profile whose id or alias is ``ref`` (e.g. 'vllm')."""
        return self._find("engines", ref)  # type: ignore[no-any-return]

    def node_template(self, ref: str) -> NodeTemplate:
        """The server template whose id or alias is ``ref`` (e.g. 'dgx-h100')."""
        return self._find("nodes", ref)  # type: ignore[no-any-return]

    def add_user_model(self, model: ModelSpec) -> None:
        """Add (or replace) an imported model in this catalog, in place.

        The one way a running app extends its catalog: the window, its evaluator and its panels share
        this object, so they all see the model at once. Built-in tables are never touched otherwise.
        """
        models = self.models
        if not isinstance(models, dict):
            raise TypeError("this catalog's models cannot be extended")
        models[model.id] = model
        table = self._index["models"]
        for name in _names(model):
            table.setdefault(normalize(name), set()).add(model.id)

    def add_user_gpu(self, gpu: GpuSpec) -> None:
        """Add (or replace) a custom GPU in this catalog, in place (the window's Custom GPU dialog)."""
        gpus = self.gpus
        if not isinstance(gpus, dict):
            raise TypeError("this catalog's GPUs cannot be extended")
        gpus[gpu.id] = gpu
        object.__setattr__(self, "user_gpus", self.user_gpus | {gpu.id})
        if isinstance(self.sources, dict):
            self.sources.setdefault(USER_SOURCE.key, USER_SOURCE)
        table = self._index["gpus"]
        for name in _names(gpu):
            table.setdefault(normalize(name), set()).add(gpu.id)

    def is_user_gpu(self, ref: str) -> bool:
        """Whether ``ref`` is a custom GPU the user added (marked "user-defined" wherever it shows)."""
        return ref in self.user_gpus

    def with_models(self, models: Iterable[ModelSpec]) -> Catalog:
        """A new catalog with ``models`` added (replacing built-in entries of the same id)."""
        merged = dict(self.models)
        sources = dict(self.sources)
        for model in models:
            merged[model.id] = model
            for key in model.sources:
                sources.setdefault(key, _user_source(key, model))
        return Catalog(
            gpus=self.gpus,
            links=self.links,
            models=merged,
            precisions=self.precisions,
            engines=self.engines,
            nodes=self.nodes,
            sources=sources,
            warnings=self.warnings,
            user_gpus=self.user_gpus,
        )


def _user_source(key: str, model: ModelSpec) -> SourceRef:
    repo = model.id if "/" in model.id else ""
    url = f"https://huggingface.co/{repo}/blob/main/config.json" if repo else ""
    return SourceRef(key=key, title=f"config.json of {model.id} (imported by the user)", url=url)


# -- loading ----------------------------------------------------------------------------------------
def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = error.get("msg", "invalid")
    if error.get("type") == "extra_forbidden":
        message = "unknown field (misspelled?)"
    elif error.get("type") == "missing":
        message = "required field is missing"
    return f"field '{where}': {message}" if where else message


def _parse_entries(directory: Path, kind: str) -> list[BaseModel]:
    import tomllib  # only when the validated-catalog cache is stale (``catalog_cache``)

    filename, array, spec_cls, key_field, _ = _FILES[kind]
    path = directory / filename
    try:
        with path.open("rb") as handle:
            raw_bytes = handle.read(MAX_FILE_BYTES + 1)
        if len(raw_bytes) > MAX_FILE_BYTES:
            raise CatalogError(
                "the file is larger than 32 MiB", fix="restore the catalog file", where=filename
            )
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"catalog file is missing: {path}", fix="reinstall gpuplanner") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(
            f"TOML syntax error: {exc}", fix="fix the line named above", where=filename
        ) from exc
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc}", where=filename) from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8, a 5,000-digit number, arrays nested too deep
        raise CatalogError(
            f"cannot read the catalog: {str(exc)[:200] or type(exc).__name__}",
            fix="fix the value named above",
            where=filename,
        ) from None
    unknown = sorted(set(data) - {array})
    if unknown:
        raise CatalogError(
            f"unknown top-level table(s) {', '.join(unknown)}; entries go in [[{array}]]",
            where=filename,
        )
    raw = data.get(array, [])
    if not isinstance(raw, list):
        raise CatalogError(f"'{array}' must be an array of tables ([[{array}]])", where=filename)
    entries: list[BaseModel] = []
    for number, item in enumerate(raw, start=1):
        label = item.get(key_field, "?") if isinstance(item, dict) else "?"
        where = f"{filename}, {array} #{number} '{label}'"
        try:
            entries.append(spec_cls.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(_describe(dict(err)) for err in exc.errors())
            raise CatalogError(problems, fix=f"correct the entry in {path}", where=where) from exc
    return entries


def _check_unique(entries: list[BaseModel], kind: str) -> dict[str, Any]:
    filename, array, _, key_field, _ = _FILES[kind]
    by_id: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for number, spec in enumerate(entries, start=1):
        ident = getattr(spec, key_field)
        where = f"{filename}, {array} #{number} '{ident}'"
        if ident in by_id:
            raise CatalogError(f"duplicate id '{ident}'", fix="give every entry its own id", where=where)
        by_id[ident] = spec
        for name in [ident, *getattr(spec, "aliases", ())]:
            previous = owner.get(name.lower())
            if previous is not None and previous != ident:
                raise CatalogError(
                    f"alias '{name}' is already used by '{previous}'",
                    fix="remove the duplicate alias",
                    where=where,
                )
            owner[name.lower()] = ident
    return by_id


def _check_refs(
    kind: str, specs: Mapping[str, Any], field_name: str, targets: Mapping[str, Any], target_kind: str
) -> None:
    filename, array, _, _, _ = _FILES[kind]
    for number, (ident, spec) in enumerate(specs.items(), start=1):
        value = getattr(spec, field_name)
        values = value if isinstance(value, tuple) else (value,)
        for ref in values:
            if ref is not None and ref not in targets:
                close = difflib.get_close_matches(ref, list(targets), n=3)
                hint = f" (closest: {', '.join(close)})" if close else ""
                raise CatalogError(
                    f"field '{field_name}': '{ref}' is not a known {target_kind}{hint}",
                    fix=f"use an id from {_FILES[_plural(target_kind)][0]}",
                    where=f"{filename}, {array} #{number} '{ident}'",
                )


def _plural(target_kind: str) -> str:
    return {"link": "links", "gpu": "gpus", "precision": "precisions", "source": "sources"}[target_kind]


def _cross_check(tables: dict[str, dict[str, Any]]) -> None:
    links, precisions = tables["links"], tables["precisions"]
    _check_refs("gpus", tables["gpus"], "native_link", links, "link")
    _check_refs("links", links, "requires_native", links, "link")
    for field_name in ("gpu",):
        _check_refs("nodes", tables["nodes"], field_name, tables["gpus"], "gpu")
    for field_name in ("nvswitch", "pair_links", "host_link", "nic"):
        _check_refs("nodes", tables["nodes"], field_name, links, "link")
    _check_refs("engines", tables["engines"], "weight_precisions", precisions, "precision")
    _check_refs("engines", tables["engines"], "kv_precisions", precisions, "precision")
    for kind in ("gpus", "links", "models", "precisions", "engines", "nodes"):
        _check_refs(kind, tables[kind], "sources", tables["sources"], "source")
    for number, engine in enumerate(tables["engines"].values(), start=1):
        for ref in engine.kv_precisions:
            if not precisions[ref].for_kv_cache:
                raise CatalogError(
                    f"field 'kv_precisions': '{ref}' is not marked for_kv_cache in precisions.toml",
                    where=f"engines.toml, engine #{number} '{engine.id}'",
                )


def _load_user_models(folder: Path) -> tuple[list[ModelSpec], list[str]]:
    models: list[ModelSpec] = []
    warnings: list[str] = []
    if not folder.is_dir():
        return models, warnings
    for path in sorted(folder.glob("*.json")):
        try:
            models.append(ModelSpec.model_validate_json(path.read_bytes()))
        except (OSError, ValidationError, ValueError) as exc:
            first = str(exc).strip().splitlines()
            reason = first[0] if first else type(exc).__name__
            if isinstance(exc, ValidationError) and exc.errors():
                reason = "; ".join(_describe(dict(err)) for err in exc.errors()[:3])
            warnings.append(f"skipped imported model {path}: {reason}")
            log.warning("skipped imported model %s: %s", path, reason)
    return models, warnings


def _read_tables(folder: Path) -> dict[str, dict[str, Any]]:
    """Every built-in table of ``folder``, parsed, validated and cross-checked (no cache)."""
    tables = {kind: _check_unique(_parse_entries(folder, kind), kind) for kind in _FILES}
    _cross_check(tables)
    return tables


def load_catalog(directory: Path | str | None = None, *, include_user_models: bool = True) -> Catalog:
    """Read and check the catalogs in ``directory`` (default: the built-in ``catalogs/`` folder).

    The validated built-in tables come from a cache in the user's folder while no catalog file changed
    (:mod:`gpuplanner.core.catalog_cache`). Raises :class:`CatalogError` naming the file, entry and
    field of the first problem. Imported
    user models (``paths.user_models_dir()``) are added unless ``include_user_models`` is false; a
    broken one is skipped and reported in ``Catalog.warnings``.
    """
    folder = Path(directory) if directory is not None else paths.catalogs_dir()
    tables = cached_tables(folder, [entry[0] for entry in _FILES.values()], lambda: _read_tables(folder))
    catalog = Catalog(
        gpus=tables["gpus"],
        links=tables["links"],
        models=tables["models"],
        precisions=tables["precisions"],
        engines=tables["engines"],
        nodes=tables["nodes"],
        sources=tables["sources"],
    )
    if not include_user_models:
        return catalog
    user_models, warnings = _load_user_models(paths.user_models_dir())
    merged = catalog.with_models(user_models)
    custom, gpu_warnings = load_user_gpus(catalog.links, catalog.gpus)
    gpus = dict(merged.gpus)
    sources = dict(merged.sources)
    for gpu in custom:
        gpus[gpu.id] = gpu
        sources.setdefault(USER_SOURCE.key, USER_SOURCE)
    return Catalog(
        gpus=gpus,
        links=merged.links,
        models=merged.models,
        precisions=merged.precisions,
        engines=merged.engines,
        nodes=merged.nodes,
        sources=sources,
        warnings=(*warnings, *gpu_warnings),
        user_gpus=frozenset(g.id for g in custom),
    )


@cache
def default_catalog() -> Catalog:
    """The built-in catalog plus the user's imported models, loaded once (``cache_clear()`` resets)."""
    return load_catalog()
