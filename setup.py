"""Packaging hook: the wheel carries the default corpus and prompts.

Everything else is declared in pyproject.toml. ``corpus/`` and ``prompts/`` stay at the repository root where
staff edit them; a built wheel (``pip install .``, the Docker image) gets a copy under ``zhengwu/bundled/``,
which ``zhengwu.config`` finds when the package does not run from a checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("corpus", "prompts")


class BuildPyWithBundledData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which has the folders themselves
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "zhengwu" / "bundled"
        for name in BUNDLED:
            shutil.copytree(root / name, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithBundledData})
