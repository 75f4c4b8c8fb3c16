"""Measuring answer quality: scoring question files (``evaluation``) and the HTML reports for staff
(``reports``: evaluation report, comparison of two runs, corpus health)."""
