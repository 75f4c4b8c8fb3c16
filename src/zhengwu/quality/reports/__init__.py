"""Reports for staff: the HTML evaluation report, the comparison of two evaluation runs, and corpus health.

All HTML output is one self-contained file (inline CSS, charts as base64 PNGs, no scripts, no network access).
Modules load matplotlib and Jinja2 only when a report is actually produced.
"""

from __future__ import annotations

__all__ = ["compare", "eval_report", "health"]
