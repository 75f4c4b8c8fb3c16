"""Progress bars for long work an operator watches (building the index, re-embedding, evaluating): a
``ProgressFactory`` (``label, total -> tick(n)``) drawn with tqdm on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable

from zhengwu.index.index import ProgressFactory


def progress_bars(enabled: bool = True) -> ProgressFactory:
    """A factory of tqdm bars (nothing at all when ``enabled`` is false or there is nothing to count)."""
    from tqdm import tqdm

    def factory(label: str, total: int) -> Callable[[int], None]:
        if not enabled or total == 0:
            return lambda _n: None
        bar = tqdm(total=total, desc=label, unit="项", file=sys.stderr, leave=False, dynamic_ncols=True)

        def tick(n: int) -> None:
            bar.update(n)
            if bar.n >= bar.total:
                bar.close()

        return tick

    return factory
