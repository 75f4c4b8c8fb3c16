"""Background re-indexing with progress: the console's publishing never blocks a request, and citizens are
answered from the old index until the new one is in place (``Index.ingest`` swaps BM25 atomically and writes
each batch of documents in one transaction).

One worker thread per process. A job's progress is written to ``index_jobs`` (at most every
``PROGRESS_EVERY`` seconds), so a page served by another worker shows it too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from zhengwu.config import Settings
from zhengwu.db.models import utcnow
from zhengwu.documents.loaders import load_paths
from zhengwu.index import CONSOLE_SOURCE, Index, IngestReport
from zhengwu.library.records import JobData
from zhengwu.library.store import LibraryStore

log = logging.getLogger("zhengwu.library")
PROGRESS_EVERY = 0.3
JOB_KINDS = ("publish", "reindex")


def sync_console(index: Index, store: LibraryStore, progress=None) -> IngestReport:
    """Bring the index in line with what the console publishes; documents it stopped publishing go back to
    their files (re-read from their folder when the index holds no copy of the file)."""
    docs = [v.document for v in store.published()]
    kwargs = {"progress": progress} if progress is not None else {}
    report = index.ingest(docs, CONSOLE_SOURCE, **kwargs)
    wanted: dict[str, set[str]] = defaultdict(set)
    for doc_id, source in report.to_restore.items():
        wanted[source].add(doc_id)
    for source, ids in wanted.items():
        path = Path(source)
        if not path.exists():
            log.warning("cannot restore %d document(s) of %s: the source is gone", len(ids), source)
            continue
        loaded = load_paths([path], root=path if path.is_dir() else path.parent)
        found = [d for d in loaded.documents if d.doc_id in ids]
        index.ingest(found, source, prune=False)
        report.restored.extend(d.doc_id for d in found)
    return report


def reindex_folder(index: Index, settings: Settings, progress=None) -> IngestReport:
    """Re-read the configured corpus folder (incremental)."""
    folder = settings.corpus_dir
    loaded = load_paths([folder], root=folder)
    kwargs = {"progress": progress} if progress is not None else {}
    return index.ingest(loaded.documents, str(folder.resolve()), errors=loaded.errors, **kwargs)


def report_dict(report: IngestReport) -> dict:
    return {
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged, "removed": report.removed,
        "restored": len(report.restored), "held_by_console": report.held_by_console[:100],
        "vectors_embedded": report.vectors_embedded, "seconds": round(report.seconds, 1),
        "errors": [{"path": e.path, "reason": e.reason} for e in report.errors[:100]],
        "warnings": [{"path": e.path, "reason": e.reason} for e in report.warnings[:100]],
    }


class Publisher:
    def __init__(self, store: LibraryStore, index: Index, settings: Settings) -> None:
        self.store = store
        self.index = index
        self.settings = settings
        self._queue: queue.Queue[JobData] = queue.Queue()
        self._waiting: dict[str, JobData] = {}  # kind -> the queued job a new request joins
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()
        self.idle.set()

    def request(self, kind: str, actor: str) -> JobData:
        """Queue a job (or join the one of this kind still waiting to start) and return it."""
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        with self._lock:
            waiting = self._waiting.get(kind)
            if waiting is not None:
                return waiting
            job = self.store.new_job(kind, actor)
            self._waiting[kind] = job
            self.idle.clear()
            self._queue.put(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zhengwu-publisher", daemon=True)
                self._thread.start()
            return job

    def wait(self, timeout: float | None = None) -> bool:
        """Until every queued job has finished (tests, the command line)."""
        return self.idle.wait(timeout)

    def _run(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=5)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        self.idle.set()
                        return
                continue
            with self._lock:
                self._waiting.pop(job.kind, None)
            self._work(job)
            with self._lock:
                if self._queue.empty():
                    self.idle.set()

    def _work(self, job: JobData) -> None:
        self.store.update_job(job.id, state="running", started_at=utcnow(), message="开始重建索引")
        try:
            progress = self._progress(job.id)
            if job.kind == "publish":
                report = sync_console(self.index, self.store, progress)
            else:
                report = reindex_folder(self.index, self.settings, progress)
        except Exception as exc:  # noqa: BLE001 - a failed job is reported in the console, never lost silently
            log.exception("index job %d failed", job.id)
            self.store.update_job(job.id, state="failed", finished_at=utcnow(),
                                  message=f"索引更新失败：{type(exc).__name__}。已发布的内容保持不变，请查看服务日志。")
            return
        summary = (f"完成：新增 {report.added}，更新 {report.updated}，删除 {report.removed}，"
                   f"恢复磁盘版本 {len(report.restored)}，用时 {report.seconds:.1f} 秒")
        self.store.update_job(job.id, state="done", finished_at=utcnow(), message=summary,
                              report=report_dict(report))

    def _progress(self, job_id: int) -> Callable[[str, int], Callable[[int], None]]:
        def factory(label: str, total: int) -> Callable[[int], None]:
            done = 0
            last = 0.0
            self.store.update_job(job_id, total=total, done=0, message=label)

            def tick(n: int) -> None:
                nonlocal done, last
                done += n
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY or done >= total:
                    last = now
                    self.store.update_job(job_id, done=done)
            return tick
        return factory
