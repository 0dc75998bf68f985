"""import-model ORG/NAME: the config.json from a local stand-in for the Hub (never the internet)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gpuplanner.__main__ import main
from gpuplanner.core.catalog import load_catalog
from gpuplanner.core.errors import CatalogError
from gpuplanner.core.hf_fetch import fetch_config, looks_like_repo_id
from gpuplanner.core.hf_import import import_model_from_hub

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


class FakeHub(BaseHTTPRequestHandler):
    """Answers like huggingface.co: config.json of public repos, 401 for a gated one without a token."""

    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # the name http.server calls
        FakeHub.seen.append(dict(self.headers))
        if self.path == f"/{LLAMA}/resolve/main/config.json":
            self._send(200, (CONFIGS / "meta-llama--Llama-3.1-8B-Instruct.json").read_bytes())
        elif self.path == "/gated-org/gated-model/resolve/main/config.json":
            if self.headers.get("Authorization") == "Bearer good-token":
                self._send(200, (CONFIGS / "meta-llama--Llama-3.1-8B-Instruct.json").read_bytes())
            else:
                self._send(401, b'{"error": "Access to model gated-org/gated-model is restricted."}')
        elif self.path == "/broken/model/resolve/main/config.json":
            self._send(200, b'{"model_type": "llama", ')
        else:
            self._send(404, b'{"error": "Repository not found"}')

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no saved login
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the stand-in is local, whatever proxy is set
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("GPUPLANNER_USER_DIR", str(tmp_path / "user"))
    FakeHub.seen = []
    yield server
    server.shutdown()
    server.server_close()


def test_import_by_name_fetches_config_and_saves_the_model(hub):
    spec, saved = import_model_from_hub(LLAMA)
    # figures of the real config.json (tests/data/hf_configs): 32 layers, hidden 4096, 8 KV heads
    assert (spec.id, spec.num_layers, spec.hidden_size, spec.num_kv_heads) == (LLAMA, 32, 4096, 8)
    assert saved.is_file() and json.loads(saved.read_text())["id"] == LLAMA
    assert load_catalog().model(LLAMA).num_layers == 32
    assert "Authorization" not in FakeHub.seen[0]


def test_gated_repo_needs_a_token_and_uses_the_login(hub, tmp_path):
    with pytest.raises(CatalogError, match="gated, private or missing") as err:
        fetch_config("gated-org/gated-model")
    assert "huggingface-cli login" in err.value.fix
    assert fetch_config("gated-org/gated-model", token="good-token")["num_hidden_layers"] == 32
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "token").write_text("good-token\n")
    assert fetch_config("gated-org/gated-model")["hidden_size"] == 4096
    with pytest.raises(CatalogError, match="your token may not read it"):
        fetch_config("gated-org/gated-model", token="wrong")


def test_missing_repo_bad_json_offline_and_unreachable_say_what_to_do(hub, monkeypatch):
    with pytest.raises(CatalogError, match="HTTP 404"):
        fetch_config("nobody/nothing")
    with pytest.raises(CatalogError, match="not valid JSON"):
        fetch_config("broken/model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CatalogError, match="offline mode") as err:
        fetch_config(LLAMA)
    assert "import-model config.json" in err.value.fix
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(CatalogError, match=r"cannot reach .* offline"):
        fetch_config(LLAMA, timeout=2)


def test_cli_import_model_by_name(hub, capsys, tmp_path):
    assert looks_like_repo_id(LLAMA) and not looks_like_repo_id(str(CONFIGS / "bigscience--bloom.json"))
    assert main(["import-model", LLAMA]) == 0
    assert f"as '{LLAMA}'" in capsys.readouterr().out
    assert main(["import-model", "gated-org/gated-model"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err
    assert main(["import-model", "gated-org/gated-model", "--token", "good-token", "--name", "my/gated"]) == 0
    assert "as 'my/gated'" in capsys.readouterr().out
