"""Fit the learned fusion with cross-validation and report out-of-fold numbers (docs/retrieval.md).

    python evaluation/fit_fusion.py --eval-dir ../shared/eval --report evaluation/reports/fusion_cv.md \
        --write src/zhengwu/resources/fusion.json

Reads the index of ZHENGWU_DATA_DIR (built first if empty, from the bundled corpus and its vector pack). For each
question set it collects every candidate document with its features, then
1. cross-validates (``--folds``, stratified by set): each question ranked by weights fitted without it;
2. prints, and with ``--report`` writes, the out-of-fold table next to the hand-set fusion on the same candidates;
3. with ``--write``, fits on all questions and writes the model (shipped as ``resources/fusion.json``).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from zhengwu.bootstrap import build_assistant, ensure_index
from zhengwu.config import get_settings
from zhengwu.ops.progress import progress_bars
from zhengwu.quality.evaluation import read_questions
from zhengwu.quality.fusion_fit import collect, cross_validate, fit
from zhengwu.retrieval.features import FEATURES

SETS = {
    "natural": "natural_dev.jsonl",
    "laws": "laws_dev.jsonl",
    "guides": "guides_dev.jsonl",
    "region": "region_dev.jsonl",
}
GOLD = Path(__file__).parent / "gold" / "gold.jsonl"


def _zeroed(matrix: np.ndarray, columns: list[int]) -> np.ndarray:
    out = matrix.copy()
    out[:, columns] = 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"), help="Folder of the *_dev.jsonl sets.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--sets", default=",".join([*SETS, "gold"]),
                        help="Comma-separated sets of the bundled corpus to use ('' for none: a KB alone).")
    parser.add_argument("--kb-data-dir", type=Path, help="A data folder whose index holds a knowledge base (e.g. the "
                        "Beijing FAQ ingested with `ZHENGWU_DATA_DIR=… zhengwu ingest kb.jsonl`) …")
    parser.add_argument("--kb-questions", type=Path, help="… and its questions: fitted and reported as set 'kb'.")
    parser.add_argument("--l2", type=float, default=None, help="L2 penalty (default: quality.fusion_fit.L2).")
    parser.add_argument("--balance", choices=["sqrt", "equal"], default="sqrt",
                        help="How the sets weigh: by the square root of their size, or all alike.")
    parser.add_argument("--ablate", action="append", default=[], metavar="F1,F2",
                        help="Also cross-validate with these features zeroed (repeatable), e.g. "
                             "--ablate expansion --ablate guide_procedure,guide_legal,law_procedure,law_legal")
    parser.add_argument("--examples", type=Path, help="Keep the collected candidates in this file (pickle) and reuse "
                        "them on the next run: refits and ablations without asking every question again.")
    parser.add_argument("--report", type=Path, help="Write the out-of-fold table and weights as Markdown.")
    parser.add_argument("--write", type=Path, help="Fit on all questions and write the model (JSON).")
    args = parser.parse_args(argv)

    settings = get_settings()
    examples = []
    started = time.perf_counter()
    wanted = [s for s in args.sets.split(",") if s]
    if args.examples and args.examples.exists():
        examples, sources = pickle.loads(args.examples.read_bytes())
        keep = set(wanted) | ({"kb"} if args.kb_questions else set())
        examples = [e for e in examples if e.group in keep]
        sources = {name: path for name, path in sources.items() if name in keep}
        return _fit_and_report(args, examples, sources, started)
    sources = {name: args.eval_dir / file for name, file in SETS.items()} | {"gold": GOLD}
    sources = {name: path for name, path in sources.items() if name in wanted}
    if sources:
        index = ensure_index(settings, progress=progress_bars(), say=lambda m: print(m, file=sys.stderr))
        assistant = build_assistant(settings, index, log_turns=False)
        for name, path in sources.items():
            if not path.exists():
                print(f"skipped {name}: {path} not found", file=sys.stderr)
                continue
            questions = read_questions(path)
            with tqdm(total=len(questions), desc=name, file=sys.stderr, leave=False) as bar:
                examples += collect(assistant, questions, name, progress=bar.update)
        index.close()
    if args.kb_data_dir and args.kb_questions:
        kb_settings = settings.model_copy(update={"data_dir": args.kb_data_dir, "embedding_cache": None})
        kb_index = ensure_index(kb_settings, say=lambda m: print(m, file=sys.stderr))
        kb_assistant = build_assistant(kb_settings, kb_index, log_turns=False)
        questions = read_questions(args.kb_questions)
        with tqdm(total=len(questions), desc="kb", file=sys.stderr, leave=False) as bar:
            examples += collect(kb_assistant, questions, "kb", progress=bar.update)
        kb_index.close()
        sources["kb"] = args.kb_questions
    if args.examples:
        args.examples.write_bytes(pickle.dumps((examples, sources)))
    return _fit_and_report(args, examples, sources, started)


def _fit_and_report(args, examples, sources, started: float) -> int:
    print(f"{len(examples)} questions with answering documents, {time.perf_counter() - started:.0f}s", file=sys.stderr)
    options = {"balance": args.balance} | ({} if args.l2 is None else {"l2": args.l2})
    cv = cross_validate(examples, args.folds, **options)
    print(cv.table())
    ablations = []
    for group in args.ablate:
        names = [f for f in group.split(",") if f]
        columns = [FEATURES.index(f) for f in names]
        zeroed = [replace(e, features=_zeroed(e.features, columns)) for e in examples]
        result = cross_validate(zeroed, args.folds, **options)
        line = ", ".join(f"{g} {m['hit@1']:.3f} / {m['hit@5']:.3f}" for g, m in result.oof.items())
        ablations.append(f"| without {', '.join(names)} | {line} |")
        print(ablations[-1])
    model = fit(examples, **options)
    weights = "\n".join(f"| `{f}` | {model.weights.get(f, 0.0):+.3f} |" for f in FEATURES)
    if args.report:
        args.report.write_text(
            f"# Learned fusion: out-of-fold results\n\n`python evaluation/fit_fusion.py --folds {args.folds}` on "
            f"{len(examples)} questions ({', '.join(sources)}); every number below ranks a question with weights "
            f"fitted without it ({args.folds} folds, stratified by set). 'hand' is the hand-set formula on the same "
            f"candidates.\n\n{cv.table()}\n\n"
            + ("## Ablations (out of fold, hit@1 / hit@5 per set)\n\n| features zeroed | result |\n| --- | --- |\n"
               + "\n".join(ablations) + "\n\n" if ablations else "")
            + f"## Weights fitted on all questions\n\n| feature | weight |\n| --- | ---: |\n"
            f"{weights}\n", encoding="utf-8")
    if args.write:
        model.meta.update({"folds": args.folds, "oof": cv.oof})
        model.save(args.write)
        print(f"model written to {args.write}", file=sys.stderr)
    print(json.dumps(model.weights, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
