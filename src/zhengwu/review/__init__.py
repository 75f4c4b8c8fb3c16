"""Staff evaluation of answer quality: the review console, citizens' 👍/👎, curated answers and review sets.

The loop it closes: citizens rate answers (``/api/v1/feedback``, the widget's buttons, "有用"/"没用" in chat);
staff open conversations in the console (``/console``), rate answers and write corrections; an administrator
publishes a correction as a curated answer, which the assistant then gives whenever the question (or a
paraphrase) is asked again, with its sources; refused and thumbs-down questions are grouped into knowledge gaps;
reviewed turns become an evaluation set (``export_reviewed``).

Modules: ``store`` (the tables, next to the personal-data store), ``passwords``, ``curated`` (matching a
question to a curated answer), ``gaps``, ``export``, ``auth`` (console sessions, CSRF, login throttling),
``console`` (the FastAPI router and pages), ``cli`` (``zhengwu staff``).
"""
