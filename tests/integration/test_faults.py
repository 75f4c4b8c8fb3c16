"""Faults: a dependency goes away and comes back; ingestion is killed; the index is damaged or lost.

PostgreSQL and Redis are reached through a TCP relay the test owns, so "down" is the relay refusing and cutting
connections (what the service sees when the database host fails) without touching the machine's servers. The
Chroma server is a real `chroma run` process, stopped and started again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from helpers import FIXTURE_CORPUS, app_for, build_index, make_assistant
from helpers.chroma import ChromaServer
from helpers.databases import scratch_pg_database

import zhengwu.config
from zhengwu.config import Settings
from zhengwu.db import make_engine, upgrade
from zhengwu.personal import DbSessionStore, PeopleStore
from zhengwu.pii import mask_pii

PG_URL = os.environ.get("ZHENGWU_TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
QUESTION = "实验动物生产许可的咨询电话是多少？"


class Relay:
    """A TCP relay from a local port to a target; ``down()`` closes every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.server.listen(64)
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.down()
        self.server.close()


def _pg_reachable() -> bool:
    try:
        make_engine(PG_URL).dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


needs_pg = pytest.mark.skipif(not _pg_reachable(), reason="PostgreSQL not reachable")


@pytest.fixture
def pg_relay():
    from sqlalchemy.engine import make_url

    with scratch_pg_database(PG_URL) as url:
        relay = Relay((url.host or "127.0.0.1", url.port or 5432))
        relayed = make_url(url).set(host="127.0.0.1", port=relay.port)
        yield relay, relayed
        relay.close()


@needs_pg
def test_database_down_gives_a_clear_503_and_recovers(pg_relay, fixture_settings, fixture_index, caplog):
    relay, url = pg_relay
    engine = make_engine(url, connect_args={"connect_timeout": 2})
    upgrade(engine)
    people = PeopleStore(engine, mask=mask_pii)
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0})
    assistant = make_assistant(settings, fixture_index, people=people,
                          sessions=DbSessionStore(engine, ttl=settings.session_ttl_seconds))
    with TestClient(app_for(settings, assistant, people)) as client:
        assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
        assert client.get("/readyz").status_code == 200

        relay.down()
        down = client.post("/api/v1/chat", json={"question": QUESTION})
        assert down.status_code == 503
        assert "服务暂时不可用" in down.json()["message"] and down.json()["detail"] == "database unavailable"
        assert any("database unavailable" in r.getMessage() for r in caplog.records)
        time.sleep(2.1)  # readiness results are cached for 2 s
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["detail"]

        relay.restore()
        time.sleep(2.1)
        assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
        assert client.get("/readyz").status_code == 200
    engine.dispose()


def test_redis_down_keeps_answering_with_local_limits_and_recovers(fixture_settings, fixture_index, caplog):
    import redis

    try:
        redis.Redis(socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis not reachable")
    relay = Relay(("127.0.0.1", 6379))
    try:
        settings = fixture_settings.model_copy(update={
            "rate_limit_per_minute": 1000, "redis_url": f"redis://127.0.0.1:{relay.port}/0"})
        with TestClient(app_for(settings, make_assistant(settings, fixture_index))) as client:
            assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
            relay.down()
            assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
            assert any("Redis unreachable" in r.getMessage() for r in caplog.records)
            time.sleep(2.1)
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "redis" in ready.json()["detail"]
            relay.restore()
            time.sleep(2.1)
            assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
            assert client.get("/readyz").status_code == 200
            assert any("Redis reachable again" in r.getMessage() for r in caplog.records)
    finally:
        relay.close()


@pytest.mark.slow
def test_chroma_server_down_answers_from_bm25_and_recovers(tmp_path, caplog):
    server = ChromaServer(tmp_path / "chroma", tmp_path / "chroma.log")
    server.start()
    try:
        settings = Settings(data_dir=tmp_path / "data", corpus_dir=FIXTURE_CORPUS, chroma_url=server.url,
                            collection="faults", rate_limit_per_minute=0)
        index = build_index(settings)
        with TestClient(app_for(settings, make_assistant(settings, index))) as client:
            assert client.get("/readyz").status_code == 200
            server.stop()
            answer = client.post("/api/v1/chat", json={"question": QUESTION})
            assert answer.status_code == 200 and "020-84106805" in answer.json()["text"]
            assert any("dense retrieval unavailable" in r.getMessage() for r in caplog.records)
            time.sleep(2.1)
            assert client.get("/readyz").status_code == 503
            server.start()
            time.sleep(2.1)
            assert client.get("/readyz").status_code == 200
            assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
            assert any("dense retrieval available again" in r.getMessage() for r in caplog.records)
    finally:
        server.stop()


# -- the index ---------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZHENGWU_CORPUS_DIR", str(FIXTURE_CORPUS))
    zhengwu.config.get_settings.cache_clear()
    yield tmp_path / "data"
    zhengwu.config.get_settings.cache_clear()


def test_a_damaged_index_is_reported_with_the_way_out(cli_env):
    from zhengwu.cli.main import main

    runner = CliRunner()
    assert runner.invoke(main, ["ask", QUESTION]).exit_code == 0
    store = cli_env / "index" / "chunks.sqlite3"
    for extra in ("-wal", "-shm"):
        Path(f"{store}{extra}").unlink(missing_ok=True)
    store.write_bytes(b"this is not a database" * 100)
    result = runner.invoke(main, ["ask", QUESTION])
    assert result.exit_code == 1
    assert "damaged" in result.output and "zhengwu ingest --rebuild" in result.output
    assert "Traceback" not in result.output


def test_lost_vectors_and_bm25_files_are_rebuilt_at_start(tmp_path):
    env = {**os.environ, "ZHENGWU_DATA_DIR": str(tmp_path / "data"), "TQDM_DISABLE": "1",
           "ZHENGWU_CORPUS_DIR": str(FIXTURE_CORPUS)}
    cli = Path(sys.executable).with_name("zhengwu")

    def ask():  # a fresh process each time, as after a real restart
        return subprocess.run([str(cli), "ask", QUESTION], env=env, capture_output=True, text=True, timeout=300)

    assert ask().returncode == 0
    shutil.rmtree(tmp_path / "data" / "chroma")
    shutil.rmtree(tmp_path / "data" / "index" / "bm25")
    result = ask()
    assert result.returncode == 0 and "020-84106805" in result.stdout
    assert "repairing" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.5, 1.2, 2.0, 3.0])
def test_ingestion_killed_at_any_point_then_rerun_is_consistent(tmp_path, after):
    env = {**os.environ, "ZHENGWU_DATA_DIR": str(tmp_path / "data"), "TQDM_DISABLE": "1",
           "ZHENGWU_CORPUS_DIR": str(FIXTURE_CORPUS)}
    cli = Path(sys.executable).with_name("zhengwu")
    proc = subprocess.Popen([str(cli), "ingest", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run([str(cli), "ingest", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=FIXTURE_CORPUS)
    from zhengwu.index.index import Index

    index = Index(settings)
    try:
        docs, chunks = index.store.count()
        assert docs == 8
        chunk_ids = [cid for d in index.store.documents() for cid in index.store.chunk_ids([d])]
        assert len(chunk_ids) == len(set(chunk_ids)) == chunks  # no duplicate chunks
        expected = {cid for cid, _ in index.store.embedded_chunks()}
        assert index.dense.ids() == expected  # no orphan or missing vectors
        assert make_assistant(settings, index).ask(QUESTION).status == "answered"
    finally:
        index.close()


def test_answers_over_http_never_5xx_when_the_index_is_fine(fixture_settings, fixture_index):
    """A baseline for the fault tests above: the same app, no fault, serves the question."""
    with TestClient(app_for(fixture_settings.model_copy(update={"rate_limit_per_minute": 0}),
                            make_assistant(fixture_settings, fixture_index))) as client:
        assert client.post("/api/v1/chat", json={"question": QUESTION}).status_code == 200
        assert httpx.codes.is_success(client.get("/healthz").status_code)
