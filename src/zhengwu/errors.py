"""The one base class of errors an operator can act on: a damaged index, a missing corpus folder, a model that
cannot load offline, a bad question or report file, a backup that cannot be read.

Code below the command line raises these with a message that says what to do; the CLI turns every one of them
into a clean error line and exit code in one place (``zhengwu.cli.main``), and so does the Telegram launcher.
"""

from __future__ import annotations


class OperatorError(Exception):
    """A failure the operator can fix; ``str(error)`` says how, in English."""
