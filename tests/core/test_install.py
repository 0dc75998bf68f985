"""A plain `pip install .` carries the catalogs and resources, and finds them from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        cwd=build,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
    )
    return next(out.glob("gpuplanner-*.whl"))


def test_wheel_carries_catalogs_and_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "gpus.toml",
        "models.toml",
        "links.toml",
        "precisions.toml",
        "engines.toml",
        "sources.toml",
        "measurements.csv",  # the speed coverage reads the published measurements at run time
    ):
        assert f"gpuplanner/_data/catalogs/{needed}" in names
    assert any(n.startswith("gpuplanner/_data/catalogs/examples/") and n.endswith(".gpuplan") for n in names)
    assert any(n.startswith("gpuplanner/_data/resources/") for n in names)


def test_installed_package_finds_its_data_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import gpuplanner.paths as p, gpuplanner.core.catalog as c;"
        "print(p.catalogs_dir()); print(len(c.default_catalog().gpus))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    )
    folder, count = out.stdout.split()
    assert folder.startswith(str(target)) and folder.endswith("_data/catalogs")
    assert int(count) >= 30
