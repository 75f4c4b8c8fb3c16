#!/usr/bin/env python3
"""Check the refusal test bank (decline.jsonl, answer.jsonl) against the shipped corpus.

Run from the project folder (or anywhere):

    python evaluation/refusal_bank/check_bank.py [--bank DIR] [--corpus DIR] [--dev DIR]

Both files:

* every line is a JSON object with a unique ``id`` (``rb-d-0001``… in decline.jsonl, ``rb-a-0001``… in
  answer.jsonl), a non-empty ``question`` and ``answerable`` (``false`` in decline.jsonl, ``true`` in
  answer.jsonl); no question text occurs twice in the bank;
* no question copies a development question: with the dev sets at hand (``--dev``, default
  ``../shared/eval`` next to the project, skipped when absent) and evaluation/gold/gold.jsonl, a question
  that is equal after dropping punctuation, or whose character-bigram overlap (Jaccard) reaches 0.7, fails.

decline.jsonl:

* ``meta.category`` is one of the seven categories; each has at least 40 questions, ``complaint`` at
  least 60; a complaint is 30–400 characters long;
* no line carries ``gold_doc_ids``, ``gold_titles`` or ``must_contain``.

answer.jsonl:

* ``meta.kind`` is ``guide`` or ``law``, ``meta.style`` is ``official`` or ``colloquial``; a guide line
  names its passage in ``meta.field``, a law line in ``meta.article`` (and the law in ``meta.law``);
* every ``gold_doc_ids`` entry is the ``doc_id`` of a document under corpus/, every ``gold_titles`` entry
  is contained in some document's title (the scorer's rule for a hit);
* ``must_contain`` holds 1 or 2 elements; every string (every option of a list element) occurs verbatim
  in the file of every gold document (``gold_doc_ids``) or of a document whose title matches
  (``gold_titles``), and, more strictly, inside the passage the line names: the ``## <field>`` section of
  the guide, or the article (``第X条`` paragraph up to the next article) or ``##`` section of the law.
  A law line may name further passages that answer it as well (``meta.also``: ``{law, article}``, e.g. the
  same rule in the 实施条例); then every named passage must contain an option of each element, and each
  option must come from one of them. The scorer compares answer text verbatim and the loader keeps the body as written, so the check is
  verbatim too; a string that only matches after ``zhengwu.chinese.normalize`` (width folding, simplified
  script) is reported as such;
* a guide whose item exists at both 广东省 and 广州市 level must say which one is meant: a ``profile``
  region or the region named in the question.

Prints a summary (counts per category, kind, field, style) and exits 1 listing the problems if any check
fails, 0 otherwise. Standard library only (``zhengwu`` is used for the normalisation hint when installed).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
ARTICLE = re.compile(r"^(第[零一二三四五六七八九十百千]+条(?:之[一二三四五六七八九十])?)[\s　]")
CATEGORIES = {
    "other_region": 40, "realtime": 40, "personal_record": 40, "advice": 40,
    "chitchat": 40, "manipulation": 40, "complaint": 60,
}
COMPLAINT_CHARS = (30, 400)
FIELD_HEADINGS = {
    "materials": "申请材料", "where": "办理地点", "phone": "咨询电话", "complaint": "投诉电话",
    "limit": "办理时限", "limit_legal": "办理时限", "visits": "到现场次数", "online": "网上办理",
    "conditions": "受理条件", "department": "基本信息",
}
GOLD_KEYS = ("gold_doc_ids", "gold_titles", "must_contain")
NEAR_DUPLICATE = 0.7

try:  # the project's own matching form, only to explain a near miss
    from zhengwu.chinese import normalize as _normalize
except Exception:  # noqa: BLE001 - the checker must run without the package
    def _normalize(text: str) -> str:
        return unicodedata.normalize("NFKC", text).lower()


# ---------------------------------------------------------------- corpus

class Doc:
    def __init__(self, path: Path, fields: dict[str, str], text: str, body: str) -> None:
        self.path, self.fields, self.text, self.body = path, fields, text, body
        self.doc_id = fields.get("doc_id", "")
        self.title = fields.get("title", "")
        self.region = fields.get("region", "")
        self.doc_type = fields.get("doc_type", "")
        self.item_name = fields.get("item_name") or self.title
        self._sections: dict[str, str] | None = None
        self._articles: dict[str, str] | None = None

    def sections(self) -> dict[str, str]:
        """``## heading`` -> its text up to the next ``##`` heading."""
        if self._sections is None:
            self._sections = {}
            for part in re.split(r"^## ", self.body, flags=re.M)[1:]:
                head, _, rest = part.partition("\n")
                self._sections[head.strip()] = rest
        return self._sections

    def articles(self) -> dict[str, str]:
        """``第X条`` -> that article: its first paragraph and the paragraphs up to the next article/heading."""
        if self._articles is None:
            self._articles = {}
            current = None
            for line in self.body.splitlines():
                m = ARTICLE.match(line)
                if m:
                    current = m.group(1)
                    self._articles.setdefault(current, "")
                    self._articles[current] += line + "\n"
                elif line.startswith("#"):
                    current = None
                elif current is not None:
                    self._articles[current] += line + "\n"
        return self._articles


def load_corpus(root: Path) -> list[Doc]:
    """Every document under ``root``, read by the project's own loader (what ``zhengwu ingest`` reads)."""
    from zhengwu.documents.loaders import load_paths

    loaded = load_paths([root], root=root)
    return [
        Doc(Path(d.path), {"doc_id": d.doc_id, "title": d.title, "region": d.region, "doc_type": d.doc_type,
                           "item_name": str(d.extra.get("item_name", ""))}, d.body, d.body)
        for d in loaded.documents
    ]


# ---------------------------------------------------------------- helpers

def options(item) -> list[str]:
    return [str(o) for o in item] if isinstance(item, list) else [str(item)]


def bigrams(text: str) -> set[str]:
    s = "".join(ch for ch in _normalize(text) if ch.isalnum())
    return {s[i:i + 2] for i in range(len(s) - 1)}


def bare(text: str) -> str:
    return "".join(ch for ch in _normalize(text) if ch.isalnum())


def read_lines(path: Path, problems: list[str]) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{path.name}:{n}: invalid JSON ({e})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name}:{n}: not a JSON object")
            continue
        row["_where"] = f"{path.name}:{n} {row.get('id') or '(no id)'}"
        rows.append(row)
    return rows


def check_common(rows: list[dict], prefix: str, answerable: bool, problems: list[str]) -> None:
    ids = Counter(r.get("id") for r in rows)
    for r in rows:
        w = r["_where"]
        if not re.fullmatch(prefix + r"\d{4}", str(r.get("id", ""))):
            problems.append(f"{w}: id should look like {prefix}0001")
        if not isinstance(r.get("question"), str) or not r["question"].strip():
            problems.append(f"{w}: empty question")
        if r.get("answerable") is not answerable:
            problems.append(f"{w}: 'answerable' must be {str(answerable).lower()} in this file")
        if not isinstance(r.get("meta"), dict):
            problems.append(f"{w}: meta must be an object")
            r["meta"] = {}
        if "profile" in r and not isinstance(r["profile"], dict):
            problems.append(f"{w}: profile must be an object")
        if "turns" in r and not (isinstance(r["turns"], list) and all(isinstance(t, str) and t for t in r["turns"])):
            problems.append(f"{w}: turns must be a list of non-empty strings")
    for qid, c in ids.items():
        if qid and c > 1:
            problems.append(f"duplicate id {qid} ({c} lines)")


# ---------------------------------------------------------------- decline

def check_decline(rows: list[dict], problems: list[str]) -> Counter:
    check_common(rows, "rb-d-", False, problems)
    cats: Counter = Counter()
    for r in rows:
        w, cat = r["_where"], r["meta"].get("category")
        if cat not in CATEGORIES:
            problems.append(f"{w}: meta.category {cat!r} is not one of {', '.join(CATEGORIES)}")
        cats[cat] += 1
        for key in GOLD_KEYS:
            if r.get(key):
                problems.append(f"{w}: a question to decline must not carry {key}")
        if cat == "complaint":
            n = len(str(r.get("question", "")))
            if not COMPLAINT_CHARS[0] <= n <= COMPLAINT_CHARS[1]:
                problems.append(f"{w}: complaint is {n} characters, expected {COMPLAINT_CHARS[0]}–{COMPLAINT_CHARS[1]}")
    for cat, least in CATEGORIES.items():
        if cats[cat] < least:
            problems.append(f"decline.jsonl: category {cat} has {cats[cat]} questions, needs at least {least}")
    return cats


# ---------------------------------------------------------------- answer

def passage_of(row: dict, doc: Doc) -> tuple[str | None, str]:
    """The text of the passage the line names in ``doc``, and a label for messages."""
    meta = row["meta"]
    if meta.get("kind") == "guide":
        heading = FIELD_HEADINGS.get(str(meta.get("field")))
        return (doc.sections().get(heading) if heading else None), f"section ## {heading}"
    article = str(meta.get("article", ""))
    if ARTICLE.match(article + " "):
        return doc.articles().get(article), article
    return doc.sections().get(article), f"section ## {article}"


def region_named(row: dict, doc: Doc) -> bool:
    region = str((row.get("profile") or {}).get("region", ""))
    question = str(row.get("question", ""))
    if doc.region == "广州市":
        return "广州" in region or "广州" in question
    if doc.region == "广东省":
        return (region.startswith("广东") and "广州" not in region) or "广东省" in question or "省" in question
    return True


def check_answer(rows: list[dict], docs: list[Doc], problems: list[str]) -> None:
    check_common(rows, "rb-a-", True, problems)
    by_id = {d.doc_id: d for d in docs}
    guides = [d for d in docs if d.doc_type == "service_guide"]
    levels: dict[str, set[str]] = {}
    for d in guides:
        for key in {d.title, d.item_name}:
            levels.setdefault(key, set()).add(d.region)

    for r in rows:
        w, meta = r["_where"], r["meta"]
        kind = meta.get("kind")
        if kind not in ("guide", "law"):
            problems.append(f"{w}: meta.kind must be guide or law")
        if meta.get("style") not in ("official", "colloquial"):
            problems.append(f"{w}: meta.style must be official or colloquial")
        if kind == "guide" and meta.get("field") not in FIELD_HEADINGS:
            problems.append(f"{w}: meta.field must be one of {', '.join(FIELD_HEADINGS)}")
        if kind == "law" and not (meta.get("article") and meta.get("law")):
            problems.append(f"{w}: a law line needs meta.law and meta.article")

        gold_ids = [str(x) for x in r.get("gold_doc_ids") or []]
        gold_titles = [str(x) for x in r.get("gold_titles") or []]
        must = r.get("must_contain")
        if not gold_ids and not gold_titles:
            problems.append(f"{w}: no gold_doc_ids or gold_titles")
        if not isinstance(must, list) or not 1 <= len(must) <= 2:
            problems.append(f"{w}: must_contain must be a list of 1 or 2 elements")
            must = must if isinstance(must, list) else []

        id_docs = []
        for d in gold_ids:
            if d not in by_id:
                problems.append(f"{w}: gold doc_id {d} not found in corpus/")
            else:
                id_docs.append(by_id[d])
        title_docs = []
        for t in gold_titles:
            hits = [d for d in docs if t and t in d.title]
            if not hits:
                problems.append(f"{w}: gold title {t!r} matches no document title")
            title_docs.extend(hits)
        gold_docs = id_docs + title_docs
        also = meta.get("also") or []
        if not isinstance(also, list) or not all(isinstance(a, dict) and a.get("law") and a.get("article")
                                                  for a in also):
            problems.append(f"{w}: meta.also must be a list of {{law, article}} objects")
            also = []
        # the passages that answer the line: (label, text) for the named one, then for each alternative
        passages: list[tuple[str, str | None]] = []
        if kind == "law" and meta.get("law"):
            for law, article in [(meta["law"], meta.get("article"))] + [(a["law"], a["article"]) for a in also]:
                named = [d for d in gold_docs if d.title == law]
                if not named:
                    problems.append(f"{w}: {law!r} is not the title of a gold document")
                for d in named[:1]:
                    text, label = passage_of({"meta": {"kind": "law", "article": article}}, d)
                    passages.append((f"{label} of {d.path.name}", text))
        else:
            for d in gold_docs:
                text, label = passage_of(r, d)
                passages.append((f"{label} of {d.path.name}", text))
        for label, text in passages:
            if text is None:
                problems.append(f"{w}: no {label}")

        for item in must:
            opts = options(item)
            for opt in opts:
                if not opt.strip():
                    problems.append(f"{w}: empty must_contain string")
            opts = [o for o in opts if o.strip()]
            if not also:
                # one passage kind: every string must be in every gold document and in its named passage
                for opt in opts:
                    for d in id_docs:
                        if opt not in d.text:
                            problems.append(f"{w}: must_contain {opt!r} not in gold document {d.path.name}"
                                            + _hint(opt, d.text))
                    if title_docs and not any(opt in d.text for d in title_docs):
                        problems.append(f"{w}: must_contain {opt!r} in no document titled like {gold_titles}")
                    for label, text in passages:
                        if text is not None and opt not in text:
                            problems.append(f"{w}: must_contain {opt!r} not in {label}" + _hint(opt, text))
            else:
                # alternatives: each acceptable passage satisfies the element, each string comes from one of them
                for label, text in passages:
                    if text is not None and not any(o in text for o in opts):
                        problems.append(f"{w}: none of {opts} is in {label}")
                for opt in opts:
                    if not any(text is not None and opt in text for _, text in passages):
                        joined = " ".join(t for _, t in passages if t)
                        problems.append(f"{w}: must_contain {opt!r} is in none of the named passages"
                                        + _hint(opt, joined))

        if kind == "guide":
            for d in id_docs:
                if len(levels.get(d.title, set()) | levels.get(d.item_name, set())) > 1 and not region_named(r, d):
                    problems.append(f"{w}: {d.title} exists at 广东省 and 广州市 level; set profile.region or name "
                                    f"{d.region} in the question")
                if meta.get("region") and meta["region"] != d.region:
                    problems.append(f"{w}: meta.region {meta['region']} but gold document is {d.region}")


def _hint(opt: str, text: str) -> str:
    return " (it occurs only after normalisation; the scorer compares verbatim)" if _normalize(opt) in _normalize(text) else ""


# ---------------------------------------------------------------- originality

def check_originality(rows: list[dict], dev_files: list[Path], problems: list[str]) -> int:
    seen: dict[str, str] = {}
    for r in rows:
        key = bare(str(r.get("question", "")))
        if key in seen:
            problems.append(f"{r['_where']}: same question as {seen[key]}")
        seen.setdefault(key, r["_where"])
    dev = []
    for f in dev_files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    q = str(json.loads(line).get("question", ""))
                except (json.JSONDecodeError, AttributeError):
                    continue
                dev.append((f.name, q, bare(q), bigrams(q)))
    for r in rows:
        q = str(r.get("question", ""))
        key, grams = bare(q), bigrams(q)
        for name, dq, dkey, dgrams in dev:
            if key == dkey or (grams and dgrams and len(grams & dgrams) / len(grams | dgrams) >= NEAR_DUPLICATE):
                problems.append(f"{r['_where']}: too close to a question of {name}: {dq!r}")
                break
    return len(dev)


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bank", default=str(HERE))
    ap.add_argument("--corpus", default=str(PROJECT / "corpus"))
    ap.add_argument("--dev", default=str(PROJECT.parent / "shared" / "eval"),
                    help="folder of the development sets to compare against (skipped when absent)")
    args = ap.parse_args()
    bank, corpus, dev = Path(args.bank), Path(args.corpus), Path(args.dev)

    problems: list[str] = []
    docs = load_corpus(corpus)
    if not docs:
        print(f"FAILED: no documents with front matter under {corpus}")
        return 1
    decline = read_lines(bank / "decline.jsonl", problems)
    answer = read_lines(bank / "answer.jsonl", problems)
    cats = check_decline(decline, problems)
    check_answer(answer, docs, problems)
    dev_files = sorted(dev.glob("*.jsonl")) if dev.is_dir() else []
    gold = PROJECT / "evaluation" / "gold" / "gold.jsonl"
    if gold.exists():
        dev_files.append(gold)
    n_dev = check_originality(decline + answer, dev_files, problems)

    print(f"{bank / 'decline.jsonl'}: {len(decline)} questions to decline")
    for cat in CATEGORIES:
        print(f"  {cat:<16} {cats[cat]:>4}  (at least {CATEGORIES[cat]})")
    kinds = Counter(r["meta"].get("kind") for r in answer)
    print(f"{bank / 'answer.jsonl'}: {len(answer)} questions to answer; "
          + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items(), key=str)))
    for kind, key in (("guide", "field"), ("guide", "region"), ("guide", "style"), ("law", "style")):
        c = Counter(r["meta"].get(key) for r in answer if r["meta"].get("kind") == kind)
        print(f"  {kind} by {key}: " + ", ".join(f"{k}={v}" for k, v in c.most_common()))
    laws = Counter(r["meta"].get("law") for r in answer if r["meta"].get("kind") == "law")
    beijing = sum(v for k, v in laws.items() if str(k).startswith("北京"))
    print(f"  law: {len(laws)} laws/regulations ({beijing} questions on 北京市 regulations, "
          f"{sum(laws.values()) - beijing} on national ones)")
    print(f"compared with {n_dev} development/gold questions from {len(dev_files)} file(s)"
          + ("" if dev.is_dir() else f" ({dev} not found)"))
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        for p in problems:
            print("  - " + p)
        return 1
    print("OK: ids unique, categories filled, every gold document exists and every must_contain string is in "
          "the passage the line names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
