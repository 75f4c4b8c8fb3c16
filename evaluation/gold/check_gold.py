#!/usr/bin/env python3
"""Check evaluation/gold/gold.jsonl against the shipped corpus.

Run from the project folder (or anywhere):

    python evaluation/gold/check_gold.py [GOLD_FILE] [--corpus DIR]

For every question line it checks that

* the line is valid JSON with a unique ``id``, a non-empty ``question``, ``answerable`` and ``meta.kind``;
* every ``gold_doc_ids`` entry is the ``doc_id`` of a document under corpus/;
* every ``gold_titles`` entry is contained in the title of at least one document under corpus/
  (the same rule the scorer uses for a hit);
* every ``must_contain`` string (each option of a list element) appears verbatim in the file of
  **every** gold document (for ``gold_doc_ids``) or of at least one document whose title matches a
  ``gold_titles`` entry;
* an unanswerable line carries no gold documents and no must_contain; an answerable line has gold
  documents or must_contain;
* ``turns`` is a list of strings and ``profile`` an object, when present.

Exits 1 and lists the problems if any check fails, 0 otherwise. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
        if value and "''" in value:
            value = value.replace("''", "'")
    return value


def load_corpus(root: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """doc_id -> file, title -> files, read from each Markdown file's front matter."""
    by_id: dict[str, Path] = {}
    by_title: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        m = FRONT.match(text)
        if not m:
            continue
        fields = {}
        for line in m.group(1).splitlines():
            key, sep, val = line.partition(":")
            if sep and key and not key.startswith((" ", "\t")):
                fields[key.strip()] = _scalar(val)
        if "doc_id" in fields:
            by_id[fields["doc_id"]] = path
        if "title" in fields:
            by_title.setdefault(fields["title"], []).append(path)
    return by_id, by_title


def options(item) -> list[str]:
    return [str(o) for o in item] if isinstance(item, list) else [str(item)]


def check(gold_file: Path, corpus: Path) -> list[str]:
    by_id, by_title = load_corpus(corpus)
    if not by_id:
        return [f"no documents with front matter under {corpus}"]
    cache: dict[Path, str] = {}

    def text(p: Path) -> str:
        if p not in cache:
            cache[p] = p.read_text(encoding="utf-8")
        return cache[p]

    problems: list[str] = []
    ids: Counter = Counter()
    lines = gold_file.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: invalid JSON ({e})")
            continue
        qid = q.get("id") or f"line {n}"
        where = f"{qid} (line {n})"
        ids[q.get("id")] += 1
        if not q.get("id"):
            problems.append(f"{where}: missing id")
        if not str(q.get("question", "")).strip():
            problems.append(f"{where}: empty question")
        if "answerable" not in q or not isinstance(q["answerable"], bool):
            problems.append(f"{where}: 'answerable' must be true or false")
        if not isinstance(q.get("meta"), dict) or not q["meta"].get("kind"):
            problems.append(f"{where}: meta.kind missing")
        if "turns" in q and not (isinstance(q["turns"], list) and all(isinstance(t, str) and t for t in q["turns"])):
            problems.append(f"{where}: turns must be a list of non-empty strings")
        if "profile" in q and not isinstance(q["profile"], dict):
            problems.append(f"{where}: profile must be an object")

        gold_ids = [str(d) for d in q.get("gold_doc_ids") or []]
        gold_titles = [str(t) for t in q.get("gold_titles") or []]
        must = q.get("must_contain") or []

        if q.get("answerable") is False:
            if gold_ids or gold_titles or must:
                problems.append(f"{where}: unanswerable question must not carry gold documents or must_contain")
            continue
        if not (gold_ids or gold_titles or must):
            problems.append(f"{where}: answerable question without gold documents or must_contain")

        gold_files: list[Path] = []
        for d in gold_ids:
            if d not in by_id:
                problems.append(f"{where}: gold doc_id {d} not found in {corpus}")
            else:
                gold_files.append(by_id[d])
        title_files: list[Path] = []
        for t in gold_titles:
            hits = [p for title, ps in by_title.items() if t and t in title for p in ps]
            if not hits:
                problems.append(f"{where}: gold title '{t}' matches no document title in {corpus}")
            title_files.extend(hits)

        if not isinstance(must, list):
            problems.append(f"{where}: must_contain must be a list")
            continue
        for item in must:
            for opt in options(item):
                if not opt.strip():
                    problems.append(f"{where}: empty must_contain string")
                    continue
                for p in gold_files:
                    if opt not in text(p):
                        problems.append(f"{where}: must_contain '{opt}' not in gold document {p.relative_to(corpus)}")
                if title_files and not any(opt in text(p) for p in title_files):
                    problems.append(f"{where}: must_contain '{opt}' not in any document titled like {gold_titles}")
                if not gold_files and not title_files and (gold_ids or gold_titles):
                    problems.append(f"{where}: must_contain '{opt}' cannot be checked (no gold document found)")

    for qid, c in ids.items():
        if qid and c > 1:
            problems.append(f"duplicate id {qid} ({c} lines)")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gold", nargs="?", default=str(HERE / "gold.jsonl"))
    ap.add_argument("--corpus", default=str(PROJECT / "corpus"))
    args = ap.parse_args()
    gold, corpus = Path(args.gold), Path(args.corpus)
    problems = check(gold, corpus)
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    kinds = Counter((r.get("meta") or {}).get("kind") for r in rows)
    print(f"{gold}: {len(rows)} questions; " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items(), key=str)))
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        for p in problems:
            print("  - " + p)
        return 1
    print("OK: every gold doc_id/title exists and every must_contain string is in its gold document")
    return 0


if __name__ == "__main__":
    sys.exit(main())
