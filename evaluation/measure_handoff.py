"""How well the assistant tells a matter to hand off (投诉/举报/建议/求助, a local matter) from a question.

    python evaluation/measure_handoff.py --eval-dir ../shared/eval [--messages ../shared/data/citizen_messages.jsonl]
        [--bank evaluation/refusal_bank] [--curve docs/images/handoff-curve.png]

Positives: complaints_dev, and (held out: never read while the cues were written) the platform messages of
``--messages`` that complaints_dev does not hold, built the way complaints_dev is (subject。details, 480
characters). Negatives: the answerable questions of the other development sets (and of the refusal bank's
``answer.jsonl``). Prints the handoff rate per set and, over a sweep of thresholds, the share of positives
handed off against the share of questions wrongly handed off.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from zhengwu.answering.message_kind import HANDOFF_SCORE, classify_message  # noqa: E402

QUESTION_SETS = ("natural_dev", "guides_dev", "laws_dev", "region_dev", "faq_dev")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, required=True)
    parser.add_argument("--messages", type=Path)
    parser.add_argument("--bank", type=Path)
    parser.add_argument("--curve", type=Path, help="write the threshold curve as a PNG here")
    parser.add_argument("--show", type=int, default=0, help="print this many misclassified examples per set")
    args = parser.parse_args()

    positives: dict[str, list[str]] = {}
    negatives: dict[str, list[str]] = {}
    complaints = _lines(args.eval_dir / "complaints_dev.jsonl")
    positives["complaints_dev"] = [q["question"] for q in complaints]
    if args.messages:
        seen = {q["id"].removeprefix("cm-") for q in complaints}
        held = [m for m in _lines(args.messages) if str(m.get("留言编号")) not in seen]
        positives["messages (held out)"] = [
            f"{m.get('留言主题', '')}。{m.get('留言详情', '')}".strip()[:480] for m in held]
    for name in QUESTION_SETS:
        path = args.eval_dir / f"{name}.jsonl"
        if path.exists():
            negatives[name] = [q["question"] for q in _lines(path) if q.get("answerable", True)]
    if args.bank and (args.bank / "answer.jsonl").exists():
        negatives["refusal_bank answer"] = [q["question"] for q in _lines(args.bank / "answer.jsonl")]

    scores = {name: [classify_message(t).score for t in texts] for name, texts in {**positives, **negatives}.items()}
    print(f"handoff at score >= {HANDOFF_SCORE}")
    for name in [*positives, *negatives]:
        handed = sum(s >= HANDOFF_SCORE for s in scores[name])
        role = "should hand off" if name in positives else "should answer"
        print(f"  {name:24} {role:16} {handed:5} of {len(scores[name]):5}  ({handed / max(1, len(scores[name])):.3f})")
        if args.show:
            texts = positives.get(name) or negatives.get(name) or []
            wrong = [(s, t) for s, t in zip(scores[name], texts, strict=True)
                     if (s >= HANDOFF_SCORE) != (name in positives)]
            for s, t in wrong[: args.show]:
                print(f"      {s:5.1f}  {t[:90]}")

    sweep = [x / 2 for x in range(0, 13)]
    pos = [s for name in positives for s in scores[name]]
    neg = [s for name in negatives for s in scores[name]]
    print("\nthreshold  handed off (positives)  wrongly handed off (questions)")
    curve = []
    for t in sweep:
        tp = sum(s >= t for s in pos) / len(pos)
        fp = sum(s >= t for s in neg) / max(1, len(neg))
        curve.append((t, tp, fp))
        print(f"  {t:5.1f}   {tp:.3f}                  {fp:.4f}")
    if args.curve:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
        ax.plot([c[0] for c in curve], [c[1] for c in curve], marker="o", label="messages handed off")
        ax.plot([c[0] for c in curve], [c[2] for c in curve], marker="s", label="questions wrongly handed off")
        ax.axvline(HANDOFF_SCORE, color="grey", linestyle="--", label=f"shipped threshold {HANDOFF_SCORE}")
        ax.set_xlabel("message score")
        ax.set_ylabel("share")
        ax.set_title("Handoff: messages vs questions")
        ax.legend()
        fig.tight_layout()
        args.curve.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.curve)
        print(f"curve written to {args.curve}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
