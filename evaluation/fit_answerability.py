"""Fit the answerability model with cross-validation, choose its threshold, and report out-of-fold numbers
(docs/answerability.md).

    python evaluation/fit_answerability.py --eval-dir ../shared/eval --examples /tmp/answerability.pkl \
        --report evaluation/reports/answerability_cv.md --curve docs/images/answerability-curve.png \
        --write src/zhengwu/resources/answerability.json

Reads the index of ZHENGWU_DATA_DIR (built first if empty). Every question of the sets is asked once with the
check switched off; each answer that reaches the check is an example (features, and whether it was right).
Then:
1. out-of-fold probabilities (``--folds``, stratified by set and outcome): each answer judged by a model fitted
   without it;
2. over a sweep of thresholds, the out-of-fold answered-correct rate, wrong-answer rate, refusal and false
   refusal per set — the precision/recall curve, drawn with ``--curve``;
3. the threshold maximising right − ``--cost`` × wrong (sets weighted alike);
4. with ``--write``, the model fitted on all examples, with that threshold.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

from tqdm import tqdm

from zhengwu.bootstrap import build_assistant, ensure_index
from zhengwu.config import get_settings
from zhengwu.ops.progress import progress_bars
from zhengwu.quality.answerability_fit import COST, L2, THRESHOLDS, choose_threshold, collect, fit, out_of_fold, rates
from zhengwu.quality.evaluation import read_questions

SETS = {
    "natural": "natural_dev.jsonl",
    "laws": "laws_dev.jsonl",
    "guides": "guides_dev.jsonl",
    "region": "region_dev.jsonl",
    "unanswerable": "unanswerable_dev.jsonl",
    "complaints": "complaints_dev.jsonl",
}
HERE = Path(__file__).parent
PROJECT_SETS = {
    "gold": HERE / "gold" / "gold.jsonl",
    "bank_decline": HERE / "refusal_bank" / "decline.jsonl",
    "bank_answer": HERE / "refusal_bank" / "answer.jsonl",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"), help="Folder of the *_dev.jsonl sets.")
    parser.add_argument("--sets", default=",".join([*SETS, *PROJECT_SETS]), help="Comma-separated sets to use.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=L2)
    parser.add_argument("--cost", type=float, default=COST, help="How many refusals one wrong answer costs.")
    parser.add_argument("--examples", type=Path, help="Keep the collected examples here (pickle) and reuse them.")
    parser.add_argument("--report", type=Path, help="Write the out-of-fold tables as Markdown.")
    parser.add_argument("--curve", type=Path, help="Write the out-of-fold threshold curve as a PNG.")
    parser.add_argument("--write", type=Path, help="Fit on all examples and write the model (JSON).")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    wanted = [s for s in args.sets.split(",") if s]
    if args.examples and args.examples.exists():
        examples = [e for e in pickle.loads(args.examples.read_bytes()) if e.group in wanted]
    else:
        settings = get_settings()
        index = ensure_index(settings, progress=progress_bars(), say=lambda m: print(m, file=sys.stderr))
        assistant = build_assistant(settings, index, log_turns=False)
        sources = {name: args.eval_dir / file for name, file in SETS.items()} | PROJECT_SETS
        examples = []
        for name in wanted:
            path = sources.get(name)
            if path is None or not path.exists():
                print(f"skipped {name}: {path} not found", file=sys.stderr)
                continue
            questions = read_questions(path)
            with tqdm(total=len(questions), desc=name, file=sys.stderr, leave=False) as bar:
                examples += collect(assistant, questions, name, progress=bar.update)
        index.close()
        if args.examples:
            args.examples.write_bytes(pickle.dumps(examples))
    checked = sum(bool(e.alternatives) for e in examples)
    print(f"{len(examples)} questions, {checked} questions reached the check, {time.perf_counter() - started:.0f}s",
          file=sys.stderr)

    probs = out_of_fold(examples, args.folds, args.l2)
    threshold = choose_threshold(examples, probs, args.cost)
    groups = sorted({e.group for e in examples})
    no_check = {g: _rates(examples, probs, g, 0.0) for g in groups}
    chosen = {g: _rates(examples, probs, g, threshold) for g in groups}
    table = _table(groups, no_check, chosen, threshold)
    print(table)

    curve = {g: [(t, _rates(examples, probs, g, t)) for t in THRESHOLDS] for g in groups}
    if args.curve:
        _draw(curve, threshold, args.curve)
    model = fit(examples, args.l2)
    model = type(model)(weights=model.weights, bias=model.bias, threshold=threshold, mean=model.mean,
                        scale=model.scale)
    weights = "\n".join(f"| `{f}` | {w:+.3f} |" for f, w in sorted(model.weights.items(), key=lambda x: -abs(x[1])))
    if args.report:
        sweep = "\n".join(
            f"| {t:.2f} | " + " | ".join(f"{r['answered_correct']:.3f} / {r['wrong_answer_rate']:.3f}"
                                         for r in (dict(curve[g])[t] for g in groups)) + " |"
            for t in THRESHOLDS[::5])
        args.report.write_text(
            f"# Answerability: out-of-fold results\n\n`python evaluation/fit_answerability.py --folds {args.folds} "
            f"--cost {args.cost}` on {len(examples)} questions ({', '.join(groups)}); {checked} questions reached the "
            f"check. Every answer is judged by a model fitted without it ({args.folds} folds, stratified by set and "
            f"outcome). The threshold {threshold:.2f} maximises right − {args.cost:g} × wrong, sets weighted "
            f"alike.\n\n{table}\n\n## Sweep (answered-correct / wrong-answer rate, out of fold)\n\n"
            f"| threshold | {' | '.join(groups)} |\n| --- |{' --- |' * len(groups)}\n{sweep}\n\n"
            f"## Weights fitted on all answers (standardised features)\n\n| feature | weight |\n| --- | ---: |\n"
            f"{weights}\n| bias | {model.bias:+.3f} |\n", encoding="utf-8")
    if args.write:
        model.save(args.write, folds=args.folds, cost=args.cost, l2=args.l2,
                   oof={g: {k: round(v, 4) for k, v in chosen[g].items() if isinstance(v, float)} for g in groups})
        print(f"model written to {args.write}", file=sys.stderr)
    print(json.dumps({"threshold": threshold, **model.weights}, ensure_ascii=False))
    return 0


def _rates(examples, probs, group: str, threshold: float) -> dict:
    sub = [(e, p) for e, p in zip(examples, probs, strict=True) if e.group == group]
    return rates([e for e, _ in sub], [p for _, p in sub], threshold)


def _fmt(value: float) -> str:
    return "—" if value != value else f"{value:.3f}"  # NaN: the set has no such questions


def _table(groups, before, after, threshold) -> str:
    head = ("| set | n | answered-correct | wrong-answer rate | unanswerable refused | false refusal |\n"
            "| --- | ---: | --- | --- | --- | --- |")
    rows = []
    for g in groups:
        b, a = before[g], after[g]
        rows.append(f"| {g} | {a['n']} | " + " | ".join(
            f"{_fmt(b[k])} → **{_fmt(a[k])}**" for k in
            ("answered_correct", "wrong_answer_rate", "refusal_rate", "false_refusal_rate")) + " |")
    return (f"Without the check → with it at threshold {threshold:.2f} (out of fold):\n\n" + head + "\n"
            + "\n".join(rows))


def _draw(curve, threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for g, points in curve.items():
        ts = [t for t, _ in points]
        axes[0].plot(ts, [r["answered_correct"] for _, r in points], label=g)
        axes[1].plot(ts, [r["wrong_answer_rate"] for _, r in points], label=g)
    for ax, title in zip(axes, ("answered correctly (of answerable)", "answered wrongly (of all)"), strict=True):
        ax.axvline(threshold, color="grey", linestyle="--")
        ax.set_xlabel("answerability threshold (out-of-fold probability)")
        ax.set_title(title)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Answerability: out-of-fold trade-off (shipped threshold {threshold:.2f})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"curve written to {path}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
