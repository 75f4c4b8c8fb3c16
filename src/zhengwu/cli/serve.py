"""``zhengwu serve`` (the HTTP service, WeChat and WeCom callbacks, the review console) and ``zhengwu telegram``."""

from __future__ import annotations

import sys

import click

from zhengwu.bootstrap import apply_console_documents, ensure_index
from zhengwu.config import get_settings
from zhengwu.ops.progress import progress_bars


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; they share the index and the session store in ZHENGWU_DATA_DIR.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the HTTP service: chat API under /api/v1, OpenAPI at /docs, demo page and widget at /.

    \b
    Builds the index from the bundled corpus on first start (progress shown); later starts reuse it.
    Staff endpoints need ZHENGWU_ADMIN_TOKEN; sites that embed the widget go in ZHENGWU_CORS_ORIGINS.
    """
    import os
    import shutil

    import uvicorn

    from zhengwu.ops.slow_clients import SlowClientProtocol

    settings = get_settings()
    if workers > 1 and not settings.embed_threads:
        # Several workers share the cores: one embedding thread each beats threads fighting over them.
        os.environ["ZHENGWU_EMBED_THREADS"] = "1"
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    index = ensure_index(settings, progress=progress_bars(), say=say)
    apply_console_documents(settings, index, say=say)
    index.close()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics sums all workers: each writes its counters to files here (cleared at every start).
        metrics_dir = settings.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    click.echo(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)", err=True)
    # log_config=None: each worker configures logging itself (JSON lines, request ids, PII masked).
    # SlowClientProtocol: uvicorn's own protocol, plus a deadline for request headers.
    uvicorn.run("zhengwu.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", log_config=None, proxy_headers=False, http=SlowClientProtocol)


@click.command()
@click.option("--set-webhook", "webhook", metavar="URL", help="Register URL (https://host/telegram/webhook) and exit.")
def telegram(webhook: str | None) -> None:
    """Run the Telegram bot by long polling (needs ZHENGWU_TELEGRAM_TOKEN), or register the webhook URL for
    webhook mode (then also ZHENGWU_TELEGRAM_WEBHOOK_SECRET; `zhengwu serve` receives the updates).
    Operator guide: bots/telegram/README.md."""
    from zhengwu.channels.telegram import main as telegram_main

    sys.exit(telegram_main(["--set-webhook", webhook] if webhook else []))
