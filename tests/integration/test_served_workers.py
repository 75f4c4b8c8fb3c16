"""Publishing with several workers (issue 16): a real `zhengwu serve --workers 2` on the embedded default stores.
A guide published through `/api/v1/admin/documents` is indexed by the worker that took the request; every
question after the job is done — on fresh connections, so both workers answer — is answered from it, and a
roll-back is followed the same way (the index's generation, ``Index.follow``)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest
from helpers import FIXTURE_CORPUS
from helpers.documents import DOG_GUIDE
from helpers.served import zhengwu_serve

TOKEN = "workers-admin-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
QUESTIONS = 16

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("served-workers")
    shutil.copytree(FIXTURE_CORPUS, tmp / "corpus")
    log = tmp / "serve.log"
    env = {**os.environ, "TQDM_DISABLE": "1", "ZHENGWU_DATA_DIR": str(tmp / "data"),
           "ZHENGWU_CORPUS_DIR": str(tmp / "corpus"), "ZHENGWU_RATE_LIMIT_PER_MINUTE": "0",
           "ZHENGWU_ADMIN_TOKEN": TOKEN, "ZHENGWU_LOG_FORMAT": "text"}
    env.pop("ZHENGWU_DATABASE_URL", None)
    env.pop("ZHENGWU_REDIS_URL", None)
    with zhengwu_serve(env, log, "--workers", "2", ready_within=240) as base:
        yield base


def wait_for(base: str, job: dict) -> None:
    deadline = time.monotonic() + 60
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
        job = httpx.get(f"{base}/api/v1/admin/jobs/{job['id']}", headers=BEARER, timeout=10).json()
    assert job["state"] == "done", job


def answers(base: str) -> list[str]:
    """The same question on fresh connections (each may land on either worker)."""
    out = []
    for _ in range(QUESTIONS):
        with httpx.Client(timeout=30, headers={"Connection": "close"}) as client:
            reply = client.post(f"{base}/api/v1/chat", json={"question": "犬只登记要多久办好？", "region": "广州市"})
            assert reply.status_code == 200, reply.text
            out.append(reply.json()["text"])
    return out


def test_every_worker_answers_from_what_was_just_published_and_rolled_back(served):
    base = served
    for days in (5, 9):
        upload = httpx.post(f"{base}/api/v1/admin/documents", headers=BEARER, timeout=30,
                            files={"file": ("dog.md", DOG_GUIDE.format(days=days).encode())})
        assert upload.status_code == 201, upload.text
        version = upload.json()["drafts"][0]["version"]
        job = httpx.post(f"{base}/api/v1/admin/documents/gz-dog-licence/publish", headers=BEARER, timeout=30,
                         json={"version": version})
        assert job.status_code == 202, job.text
        wait_for(base, job.json())
        said = answers(base)
        assert all(f"{days}个工作日" in text for text in said), said

    job = httpx.post(f"{base}/api/v1/admin/documents/gz-dog-licence/rollback", headers=BEARER, timeout=30,
                     json={"version": 1})
    wait_for(base, job.json())
    said = answers(base)
    assert all("5个工作日" in text and "9个工作日" not in text for text in said), said
