"""Benchmark: default-corpus index build, unchanged re-index, `ask` latency on a warm index, peak memory.

    python evaluation/benchmark.py [--questions evaluation/gold/gold.jsonl] [--out evaluation/reports/benchmark.json]

Each phase runs in its own process so that its peak RSS is its own. The build starts from an empty data
directory and an empty embedding cache (a cold first install, vectors from the shipped pack). Targets on a
2-core machine: build <= 120 s, unchanged re-index <= 10 s, ask p95 <= 100 ms, RSS <= 1 GB. This is a
measurement, never a test assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = HERE / "gold" / "gold.jsonl"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_ingest() -> dict:
    from zhengwu.config import Settings
    from zhengwu.documents.loaders import load_paths
    from zhengwu.index.index import Index

    settings = Settings()
    started = time.perf_counter()
    index = Index(settings)
    loaded = load_paths([settings.corpus_dir], root=settings.corpus_dir)
    report = index.ingest(loaded.documents, str(settings.corpus_dir.resolve()), errors=loaded.errors)
    seconds = time.perf_counter() - started
    docs, chunks = index.store.count()
    return {
        "seconds": round(seconds, 1),
        "documents": docs,
        "chunks": chunks,
        "chunks_per_s": round(report.chunks_written / seconds, 1) if seconds else None,
        "vectors_embedded": report.vectors_embedded,
        "unchanged": report.unchanged,
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def phase_ask(questions_file: str) -> dict:
    from zhengwu.answering.user import UserContext
    from zhengwu.bootstrap import build_assistant, ensure_index
    from zhengwu.config import get_settings
    from zhengwu.quality.evaluation import read_questions

    questions = read_questions(Path(questions_file))
    settings = get_settings()
    assistant = build_assistant(settings, ensure_index(settings))
    assistant.warm_up()
    latencies = []
    for q in questions:
        user = UserContext(region=q.profile.get("region")) if q.profile else None
        session = None
        for turn in q.turns:
            session = assistant.ask(turn, session=session, user=user).session_id
        started = time.perf_counter()
        assistant.ask(q.question, session=session, user=user)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * (len(latencies) - 1) + 0.5))], 1)

    return {"questions": len(latencies), "p50_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": round(latencies[-1], 1),
            "peak_rss_mb": round(_peak_rss_mb())}


def run_phase(name: str, env: dict, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="questions for the latency phase")
    parser.add_argument("--data-dir", help="keep the built index here (default: a temporary folder)")
    parser.add_argument("--out", help="also write the results as JSON")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "ingest":
        print(json.dumps(phase_ingest()))
        return
    if args.phase == "ask":
        print(json.dumps(phase_ask(args.questions)))
        return

    with tempfile.TemporaryDirectory(prefix="zhengwu-bench-") as tmp:
        data_dir = args.data_dir or tmp
        env = {**os.environ, "ZHENGWU_DATA_DIR": data_dir, "TQDM_DISABLE": "1"}
        print(f"data dir: {data_dir} (cold: empty index and embedding cache)", flush=True)
        build = run_phase("ingest", env)
        print(f"build:    {build['seconds']} s for {build['documents']} documents, {build['chunks']} chunks "
              f"({build['chunks_per_s']} chunks/s, {build['vectors_embedded']} vectors), peak RSS {build['peak_rss_mb']} MB",
              flush=True)
        again = run_phase("ingest", env)
        print(f"re-index: {again['seconds']} s with nothing changed ({again['unchanged']} unchanged documents)", flush=True)
        ask = run_phase("ask", env, "--questions", args.questions)
        print(f"ask:      p50 {ask['p50_ms']} ms, p95 {ask['p95_ms']} ms, max {ask['max_ms']} ms over "
              f"{ask['questions']} questions (warm index), peak RSS {ask['peak_rss_mb']} MB", flush=True)
        results = {"build": build, "reindex_unchanged": again, "ask": ask, "cpu_count": os.cpu_count()}
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(results, indent=1), encoding="utf-8")
            print(f"written to {args.out}")


if __name__ == "__main__":
    main()
