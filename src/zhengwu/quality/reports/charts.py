"""Charts for the HTML reports: matplotlib figures rendered to inline ``data:image/png;base64,`` URIs.

Reports must be self-contained and work offline, so charts are embedded PNGs and fonts are only ever taken from
the machine: a CJK font (Noto Sans CJK SC, then other Noto/Source Han/WenQuanYi faces) when one is installed,
otherwise matplotlib's default font with English-only labels, so no chart ever shows tofu boxes.

No pyplot: figures are plain ``Figure`` objects drawn with the Agg canvas inside an ``rc_context``, so no pyplot
figure registry is involved and matplotlib's settings are restored after each chart.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
)
DPI = 200  # twice the layout resolution: sharp on high-density screens and when printed
PALETTE = {
    "blue": "#2f6fb3", "green": "#2e8b57", "red": "#c0392b", "orange": "#d98a1f", "grey": "#8a939c",
    "purple": "#7b5ea7", "teal": "#1f8a8a",
}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed CJK font matplotlib can use, or None (never downloads anything)."""
    try:
        from matplotlib import font_manager
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        return None
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def label(zh: str, en: str) -> str:
    """A bilingual chart label when a CJK font is installed, English alone otherwise."""
    return f"{zh} {en}" if cjk_font() else en


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    font = cjk_font()
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": False,  # CJK fonts lack U+2212
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#9aa4ad",
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "svg.fonttype": "none",
    }
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Gg]lyph.*missing.*")
        yield


def _figure(width: float = 4.2, height: float = 2.9):
    """A figure sized for about 420 CSS pixels (one of three charts in a row), rendered at twice that."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_data_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def hit_at_k_chart(curve: Sequence[float]) -> str:
    """hit@k for k = 1..len(curve), as a line with each point labelled."""
    with _style():
        fig = _figure()
        ax = fig.add_subplot()
        ks = list(range(1, len(curve) + 1))
        ax.plot(ks, curve, marker="o", color=PALETTE["blue"], linewidth=2)
        ax.fill_between(ks, curve, color=PALETTE["blue"], alpha=0.08)
        for k, v in zip(ks, curve, strict=True):
            if k in (1, 3, 5, 10) or k == len(curve):
                ax.annotate(f"{v:.0%}", (k, v), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
        ax.set_xticks(ks)
        low = max(0.0, min(min(curve) - 0.1, 0.9))
        ax.set_ylim(low, 1.06)
        step = 0.02 if low >= 0.9 else 0.05 if low >= 0.7 else 0.1
        ax.set_yticks([t * step for t in range(round(1 / step) + 1) if t * step >= low - 1e-9])
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel(label("前 k 个结果", "top k"))
        ax.set_ylabel("hit@k")
        ax.set_title(label("前 k 命中率", "hit@k"))
        ax.grid(axis="y", alpha=0.3)
        return to_data_uri(fig)


def status_chart(groups: dict[str, dict[str, int]]) -> str:
    """Stacked horizontal bars: for each group of questions (answerable, unanswerable) the answer statuses."""
    colours = {"answered": PALETTE["green"], "refused": PALETTE["red"], "clarify": PALETTE["orange"]}
    names = {"answered": label("已回答", "answered"), "refused": label("已拒答", "refused"),
             "clarify": label("追问", "clarify")}
    statuses = list(colours) + sorted({s for g in groups.values() for s in g} - set(colours))
    with _style():
        fig = _figure(4.2, 1.5 + 0.45 * max(1, len(groups)))
        ax = fig.add_subplot()
        rows = list(groups)
        lefts = [0] * len(rows)
        for status in statuses:
            values = [groups[r].get(status, 0) for r in rows]
            if not any(values):
                continue
            bars = ax.barh(rows, values, left=lefts, color=colours.get(status, PALETTE["grey"]),
                           label=names.get(status, status), height=0.55)
            total = [sum(groups[r].values()) or 1 for r in rows]
            for bar, value, whole in zip(bars, values, total, strict=True):
                if value and value / whole >= 0.06:
                    ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, str(value),
                            ha="center", va="center", color="white", fontsize=8, fontweight="bold")
            lefts = [a + b for a, b in zip(lefts, values, strict=True)]
        ax.invert_yaxis()
        ax.set_xlabel(label("问题数", "questions"))
        ax.set_title(label("回答状态", "Answer status"))
        fig.legend(loc="outside lower center", ncol=4)
        return to_data_uri(fig)


def latency_chart(latencies: Sequence[float], p50: float | None, p95: float | None) -> str:
    with _style():
        fig = _figure()
        ax = fig.add_subplot()
        if latencies:
            ax.hist(latencies, bins=min(30, max(5, len(latencies) // 3)), color=PALETTE["teal"], alpha=0.85,
                    edgecolor="white")
        for value, name, colour in ((p50, "p50", PALETTE["blue"]), (p95, "p95", PALETTE["red"])):
            if value is not None:
                ax.axvline(value, color=colour, linestyle="--", linewidth=1.4, label=f"{name} {value:.0f} ms")
        ax.set_xlabel(label("耗时（毫秒）", "latency (ms)"))
        ax.set_ylabel(label("问题数", "questions"))
        ax.set_title(label("响应耗时分布", "Latency"))
        ax.legend(loc="upper right")
        return to_data_uri(fig)


def bar_chart(items: Sequence[tuple[str, int]], title: str, xlabel: str, colour: str = "orange") -> str:
    """Horizontal bars with the count at the end of each bar (largest on top)."""
    with _style():
        fig = _figure(6.4, 1.0 + 0.32 * max(1, len(items)))
        ax = fig.add_subplot()
        names = [n for n, _ in items]
        values = [v for _, v in items]
        bars = ax.barh(names, values, color=PALETTE.get(colour, colour), height=0.6)
        ax.invert_yaxis()
        peak = max(values, default=0) or 1
        for bar, value in zip(bars, values, strict=True):
            ax.text(bar.get_width() + peak * 0.01, bar.get_y() + bar.get_height() / 2, f"{value:,}",
                    va="center", fontsize=8)
        ax.set_xlim(0, peak * 1.15)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        return to_data_uri(fig)


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)
