"""What the load balancer and monitoring ask: ``/healthz``, ``/readyz``, ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from zhengwu.ops.observability import DEPENDENCY_UP, metrics_payload
from zhengwu.web.dependencies import app_state
from zhengwu.web.health import check_dependencies

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the index is loaded and every configured dependency answers; 503 naming what does not."""
    state = app_state(request)
    if state.services is None or state.services.index.is_empty():
        return JSONResponse(status_code=503, content={"status": "not ready", "detail": "index not loaded"})
    checks = await run_in_threadpool(check_dependencies, state.settings, state.people)
    for name, ok in checks.items():
        DEPENDENCY_UP.labels(name).set(1 if ok == "ok" else 0)
    failing = {name: why for name, why in checks.items() if why != "ok"}
    if failing:
        return JSONResponse(status_code=503, content={"status": "not ready", "dependencies": checks,
                                                      "detail": "unavailable: " + ", ".join(failing)})
    return JSONResponse(content={"status": "ready", "dependencies": checks})


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics of all workers (restrict this route to the monitoring network at the proxy)."""
    payload, content_type = metrics_payload()
    return Response(payload, media_type=content_type)
