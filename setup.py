"""Build hook: a wheel carries the top-level catalogs/ and resources/ as gpuplanner/_data/.

In a source checkout and an editable install, gpuplanner.paths finds them at the top of the
checkout instead, so the data files have one home in the repository.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "gpuplanner" / "_data"
        for name in ("catalogs", "resources"):
            src = HERE / name
            dst = target / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})
