"""How long from "publish" in the console to a citizen being answered from the new guide, on the full bundled
corpus (the browser test checks the same on the fixture corpus, within 30 s).

    python evaluation/publish_latency.py --data-dir /tmp/bench-data      # index built there if missing

Copies nothing: it publishes into the index at ``--data-dir`` (build one with ``zhengwu ingest``) and removes
the guide again (hands it back) at the end. Prints seconds per step and the answer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from zhengwu.bootstrap import build_assistant, ensure_index
from zhengwu.config import Settings
from zhengwu.library import Library, LibraryStore
from zhengwu.personal import PeopleStore, open_people_store

GUIDE = """---
doc_id: latency-dog-licence
title: 犬只登记（发布时延测量）
doc_type: service_guide
region: 广州市
department: 广州市公安局
updated: '2026-12-01'
source_url: https://gov.example/dog
item_name: 犬只登记
---

# 犬只登记（发布时延测量）

## 基本信息
- 事项名称：犬只登记
- 实施主体：广州市公安局

## 申请材料
1. 犬主身份证
2. 狂犬病免疫证明
3. 犬只正面照片{n}

## 办理时限
{days}个工作日

## 咨询电话
020-83118888
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3, help="publish this many new versions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=args.data_dir, database_url=f"sqlite:///{scratch}/people.sqlite3")
        index = ensure_index(settings)
        people: PeopleStore = open_people_store(settings)
        library = Library(LibraryStore(people.engine), index, settings)
        assistant = build_assistant(settings, index, people=people, log_turns=False)
        print(f"index: {index.store.count()[0]} documents, {index.store.count()[1]} chunks")
        timings = []
        for run in range(args.runs):
            days = 5 + run
            draft = library.upload("dog.md", GUIDE.format(n=run, days=days).encode(), "bench").versions[0]
            started = time.perf_counter()
            library.publish(draft.doc_id, draft.version, "bench")
            library.publisher.wait(600)
            indexed = time.perf_counter() - started
            answer = assistant.ask("广州犬只登记要多久？", user={"region": "广州市"})
            answered = time.perf_counter() - started
            cited = any(c.doc_id == draft.doc_id for c in answer.citations)
            ok = cited and f"{days}个工作日" in answer.text
            timings.append(answered)
            print(f"run {run + 1}: indexed in {indexed:.1f} s, answered from it {answered:.1f} s after publishing "
                  f"({'cited, new text' if ok else 'NOT from the new version'})")
        library.release(draft.doc_id, "bench")
        library.publisher.wait(600)
        job = library.store.jobs(1)[0]
        print(f"handed back in one more job: {job.message}")
        print(f"median publish-to-answer {statistics.median(timings):.1f} s, max {max(timings):.1f} s")
        print("answer:", answer.text.replace("\n", " / ")[:200])
        people.engine.dispose()
        index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
