"""What operators watch: structured JSON logs carrying a request id, and Prometheus metrics at ``/metrics``.

Logs never carry personal data: every record passes the PII filter (``zhengwu.pii.install_log_masking``) and the
access log keeps paths without query strings. With several workers (``zhengwu serve --workers N``) the metrics
of all workers are aggregated through ``PROMETHEUS_MULTIPROC_DIR``, which ``zhengwu serve`` sets.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from zhengwu.pii import install_log_masking

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REQUESTS = Counter("zhengwu_http_requests_total", "HTTP requests by route and status.", ["method", "route", "status"])
LATENCY = Histogram(
    "zhengwu_http_request_seconds", "HTTP request latency by route.", ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ANSWERS = Counter("zhengwu_answers_total", "Answers by status and by what produced them.", ["status", "path"])
REFUSALS = Counter("zhengwu_refusals_total", "Refusals and clarifications by reason.", ["reason"])
RETRIEVAL = Histogram("zhengwu_retrieval_seconds", "Time to retrieve documents for one question.",
                      buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
CHANNEL_ERRORS = Counter("zhengwu_channel_errors_total", "Errors while serving a chat channel.", ["channel"])
DEPENDENCY_UP = Gauge("zhengwu_dependency_up", "1 when the dependency answered its last check.", ["dependency"],
                      multiprocess_mode="min")


def record_answer(status: str, kind: str, reason: str) -> None:
    """Count one answer by status and by what wrote it (``Provenance.kind``: composer, llm, curated)."""
    ANSWERS.labels(status, kind).inc()
    if status != "answered":
        REFUSALS.labels(reason or "unspecified").inc()


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text: this process's metrics, or all workers' when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def new_request_id(incoming: str | None = None) -> str:
    """A caller's ``X-Request-Id`` when it looks like one (a proxy's), else a fresh id."""
    if incoming and 8 <= len(incoming) <= 64 and all(c.isalnum() or c in "-_" for c in incoming):
        return incoming
    return uuid.uuid4().hex[:16]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra`` fields."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Send the service's and uvicorn's logs to stderr in one format, PII-masked. Safe to call twice."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(_RequestIdFilter())
    for name in ("zhengwu", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    install_log_masking("zhengwu")
    install_log_masking("uvicorn")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
