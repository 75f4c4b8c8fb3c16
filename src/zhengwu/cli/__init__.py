"""The ``zhengwu`` command line. Run ``zhengwu --help`` or ``zhengwu COMMAND --help``."""

from zhengwu.cli.main import main

__all__ = ["main"]
