"""Mine candidate colloquial words for ``src/zhengwu/resources/colloquial.txt``, and check that table.

Query expansion uses ``colloquial.txt``: when a citizen's question contains a colloquial term (欠薪,
炒鱿鱼, 酒驾), retrieval also searches the official terms that laws and service guides use
(拖欠劳动报酬, 解除劳动合同, 饮酒后驾驶). This script helps keep that table honest.

Mining mode (default)
    Segments citizens' own words with jieba -- the subject and body (``留言主题``, ``留言详情``) of
    ``citizen_messages.jsonl``, never the government reply -- and the ``text`` of the FAQ knowledge base
    (``faq_kb/*.jsonl``), then writes a TSV of words that are frequent there but rare or absent in the
    corpus (Markdown under ``<corpus>/laws`` and ``<corpus>/service_guides``). Such words are how people
    talk but not how the documents are written: candidates for the left-hand side of a group. A person
    still has to pick the official terms.

    Columns: word, msg_docs (messages containing it), faq_docs (FAQ entries containing it),
    corpus_count (verbatim occurrences in the corpus text), score = (msg_docs + faq_docs) / (1 + corpus_count).

Check mode (``--check colloquial.txt``)
    Reports every group whose official terms (right of ``=>``) do not occur verbatim in the corpus text,
    plus malformed lines (no ``=>``, an empty side, an unknown provenance tag). Exit code 1 if any, else 0.

Examples (from /work/main)::

    .venv/bin/python evaluation/mine_colloquial.py --out /tmp/colloquial_candidates.tsv
    .venv/bin/python evaluation/mine_colloquial.py --check src/zhengwu/resources/colloquial.txt
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PROVENANCES = frozenset({"citizen_messages", "faq", "issue", "curated"})
CORPUS_PARTS = ("laws", "service_guides")
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")


@dataclass(frozen=True)
class Group:
    line_no: int
    colloquial: tuple[str, ...]
    official: tuple[str, ...]
    provenance: str


def parse_table(path: Path) -> tuple[list[Group], list[str]]:
    """Parse ``colloquial.txt``: ``colloquial ... => official ...  # provenance``. Returns (groups, errors)."""
    groups: list[Group] = []
    errors: list[str] = []
    for no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, _, tag = line.partition("#")
        left, arrow, right = body.partition("=>")
        colloquial, official, tag = tuple(left.split()), tuple(right.split()), tag.strip()
        if not arrow or not colloquial or not official:
            errors.append(f"line {no}: expected 'colloquial ... => official ...  # provenance': {raw!r}")
            continue
        if tag not in PROVENANCES:
            errors.append(f"line {no}: provenance {tag!r} is not one of {sorted(PROVENANCES)}")
        groups.append(Group(no, colloquial, official, tag))
    return groups, errors


def load_corpus_text(corpus: Path) -> str:
    """All Markdown under ``corpus/laws`` and ``corpus/service_guides`` as one string (files kept apart)."""
    parts = []
    for sub in CORPUS_PARTS:
        for md in sorted((corpus / sub).rglob("*.md")):
            parts.append(md.read_text(encoding="utf-8", errors="replace"))
    if not parts:
        raise SystemExit(f"no Markdown found under {corpus}/{{{','.join(CORPUS_PARTS)}}}")
    return "\n\x00\n".join(parts)


def check(table: Path, corpus_text: str) -> int:
    groups, errors = parse_table(table)
    bad = 0
    for err in errors:
        print(err)
    for g in groups:
        missing = [t for t in g.official if t not in corpus_text]
        if missing:
            bad += 1
            print(f"line {g.line_no}: official term(s) not in corpus: {' '.join(missing)}  "
                  f"(group: {' '.join(g.colloquial)} => {' '.join(g.official)})")
    by_tag = Counter(g.provenance for g in groups)
    print(f"{len(groups)} groups ({', '.join(f'{k} {v}' for k, v in sorted(by_tag.items()))}); "
          f"{bad} with official terms missing from the corpus; {len(errors)} malformed lines")
    return 1 if bad or errors else 0


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def mine(data_dir: Path, corpus_text: str, out: Path, min_docs: int, max_corpus: int) -> int:
    import jieba

    jieba.setLogLevel(60)
    messages = [f"{r.get('留言主题', '')}\n{r.get('留言详情', '')}"
                for r in _read_jsonl(data_dir / "citizen_messages.jsonl")]
    faq = [f"{r.get('title', '')}\n{r.get('text', '')}"
           for p in sorted((data_dir / "faq_kb").glob("*.jsonl")) for r in _read_jsonl(p)]

    def doc_freq(texts: list[str]) -> Counter:
        df: Counter = Counter()
        for t in texts:
            df.update({w for w in jieba.cut(t) if _HAN_WORD.match(w)})
        return df

    msg_df, faq_df = doc_freq(messages), doc_freq(faq)
    rows = []
    for word in set(msg_df) | set(faq_df):
        docs = msg_df[word] + faq_df[word]
        if docs < min_docs:
            continue
        count = corpus_text.count(word)
        if count > max_corpus:
            continue
        rows.append((word, msg_df[word], faq_df[word], count, docs / (1 + count)))
    rows.sort(key=lambda r: (-r[4], r[0]))
    with out.open("w", encoding="utf-8") as fh:
        fh.write("word\tmsg_docs\tfaq_docs\tcorpus_count\tscore\n")
        for w, m, f, c, s in rows:
            fh.write(f"{w}\t{m}\t{f}\t{c}\t{s:.2f}\n")
    print(f"{len(messages)} messages, {len(faq)} FAQ entries: wrote {len(rows)} candidates to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"),
                    help="folder with citizen_messages.jsonl and faq_kb/ (default ../shared/data)")
    ap.add_argument("--corpus", type=Path, default=Path("corpus"),
                    help="corpus folder with laws/ and service_guides/ (default corpus)")
    ap.add_argument("--out", type=Path, default=Path("colloquial_candidates.tsv"),
                    help="TSV of mined candidates (default colloquial_candidates.tsv)")
    ap.add_argument("--min-docs", type=int, default=5,
                    help="minimum messages + FAQ entries containing the word (default 5)")
    ap.add_argument("--max-corpus", type=int, default=50,
                    help="drop words occurring more often than this in the corpus (default 50)")
    ap.add_argument("--check", type=Path, metavar="COLLOQUIAL_TXT",
                    help="instead of mining, report groups whose official terms are not in the corpus")
    args = ap.parse_args(argv)
    corpus_text = load_corpus_text(args.corpus)
    if args.check:
        return check(args.check, corpus_text)
    return mine(args.data_dir, corpus_text, args.out, args.min_docs, args.max_corpus)


if __name__ == "__main__":
    sys.exit(main())
