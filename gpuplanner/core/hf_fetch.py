"""A model's ``config.json`` fetched from the Hugging Face Hub by its repo id (``ORG/NAME``).

Plain HTTPS with the standard library, as the Hub documents it: ``GET {endpoint}/{repo}/resolve/
{revision}/config.json`` with ``Authorization: Bearer <token>`` for gated repos. The endpoint is
``HF_ENDPOINT`` (default https://huggingface.co); the token is the one given, else ``HF_TOKEN``
(or ``HUGGING_FACE_HUB_TOKEN``), else the file ``huggingface-cli login`` writes (``$HF_HOME/token``).
``HF_HUB_OFFLINE=1`` means no network at all. Every failure is a :class:`CatalogError` that says what
to do: log in for a gated repo, check the name, or import a downloaded config.json offline.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from gpuplanner.core.errors import CatalogError
from gpuplanner.core.limits import parse_json

DEFAULT_ENDPOINT = "https://huggingface.co"
MAX_CONFIG_BYTES = 4 * 1024 * 1024
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
_OFFLINE_FIX = (
    "download its config.json on a machine that is online and run `gpuplanner import-model config.json`"
)


def looks_like_repo_id(text: str) -> bool:
    """'meta-llama/Llama-3.1-8B-Instruct' (and not a path that exists)."""
    return bool(REPO_ID.match(text)) and not Path(text).exists()


def _token(token: str | None) -> str | None:
    if token:
        return token
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    try:
        saved = (Path(home) / "token").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return saved or None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def fetch_config(
    repo_id: str, *, token: str | None = None, revision: str = "main", timeout: float = 20.0
) -> dict[str, Any]:
    """The parsed ``config.json`` of ``repo_id`` on the Hub."""
    if not REPO_ID.match(repo_id):
        raise CatalogError(
            f"'{repo_id[:100]}' is not a Hugging Face repo id (ORG/NAME)",
            fix="e.g. gpuplanner import-model meta-llama/Llama-3.1-8B-Instruct, or give a config.json path",
        )
    if _offline():
        raise CatalogError(f"cannot fetch {repo_id}: offline mode (HF_HUB_OFFLINE is set)", fix=_OFFLINE_FIX)
    endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")
    url = f"{endpoint}/{repo_id}/resolve/{urllib.parse.quote(revision, safe='')}/config.json"
    request = urllib.request.Request(url, headers={"User-Agent": "gpuplanner"})
    secret = _token(token)
    if secret:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_CONFIG_BYTES + 1)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            if secret:
                raise CatalogError(
                    f"{repo_id} is gated and your token may not read it (HTTP {e.code})",
                    fix=f"accept its license at {DEFAULT_ENDPOINT}/{repo_id} with the account of your token",
                ) from None
            raise CatalogError(
                f"{repo_id} is gated, private or missing: the Hub wants a token (HTTP {e.code})",
                fix=f"accept its license at {DEFAULT_ENDPOINT}/{repo_id}, then log in "
                "(`huggingface-cli login`) or set HF_TOKEN",
            ) from None
        if e.code == 404:
            raise CatalogError(
                f"{repo_id} has no config.json on the Hub (HTTP 404: no such repo, or not a transformers model)",
                fix="check the name on huggingface.co, or give a config.json path",
            ) from None
        raise CatalogError(f"the Hub answered HTTP {e.code} for {repo_id}", fix="try again later") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CatalogError(
            f"cannot reach {endpoint} for {repo_id} ({reason}): offline?", fix=_OFFLINE_FIX
        ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise CatalogError(f"the config.json of {repo_id} is larger than 4 MiB", fix="check the repo")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"the config.json of {repo_id} is not UTF-8 text", fix="check the repo") from None
    config = parse_json(
        text,
        source=url,
        error=CatalogError,
        fix="check the repo's config.json",
        on_syntax=lambda e: f"the config.json of {repo_id} is not valid JSON: {e.msg} (line {e.lineno})",
    )
    if not isinstance(config, dict):
        raise CatalogError(f"the config.json of {repo_id} does not hold a JSON object", fix="check the repo")
    return config
