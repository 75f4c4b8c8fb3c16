"""The wheel works outside the checkout: built, installed into a fresh virtual environment, and run from another
directory, it finds the bundled corpus and prompts, its migrations, templates and static files.

The fresh environment gets the project's dependencies from the test environment (a path entry, no download);
the ``zhengwu`` it imports is the installed wheel's, not the checkout's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from helpers import FIXTURE_CORPUS

REPO = Path(__file__).resolve().parents[2]

CHECK = r"""
import json, sys
from fastapi.testclient import TestClient
import zhengwu
from zhengwu.config import Settings
from zhengwu.web.app import create_app

settings = Settings()
with TestClient(create_app(settings.model_copy(update={"corpus_dir": settings.corpus_dir}))) as client:
    widget = client.get("/static/widget.js").status_code
    console = client.get("/console/login").status_code
    ready = client.get("/healthz").status_code
print(json.dumps({
    "package": zhengwu.__file__, "corpus": str(settings.corpus_dir), "prompts": str(settings.prompts_dir),
    "documents": sum(1 for _ in settings.corpus_dir.rglob("*.md")), "system_prompt": (settings.prompts_dir / "system.md").is_file(),
    "packs": sorted(p.name for p in settings.vector_pack_dir.glob("*.npz")), "pack_dir": str(settings.vector_pack_dir),
    "widget": widget, "console": console, "healthz": ready,
}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel of this checkout installed; returns its ``bin`` folder."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(work / "dist"), str(REPO)], check=True, cwd=work)
    [wheel] = (work / "dist").glob("zhengwu_assistant-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run([str(bin_dir / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True, cwd=work)
    fresh_site = Path(subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    # Dependencies from the test environment, after the fresh site-packages: its own zhengwu wins.
    (fresh_site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return bin_dir


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHENGWU_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), HF_HUB_OFFLINE="1",
               ZHENGWU_CONSOLE_SECRET="wheel-test-secret-0123456789", **extra)
    return env


@pytest.mark.slow
def test_the_installed_wheel_finds_its_corpus_prompts_and_web_files(installed, tmp_path):
    run = subprocess.run([str(installed / "python"), "-c", CHECK], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    site = str(installed.parent)
    assert found["package"].startswith(site), "the checkout's zhengwu was imported, not the wheel's"
    assert found["corpus"].startswith(site) and found["prompts"].startswith(site)
    shipped = sum(1 for _ in (REPO / "corpus").rglob("*.md"))
    assert found["documents"] == shipped and found["system_prompt"]
    # The vectors of the bundled corpus ship with it: a wheel install builds its index without embedding it.
    assert found["pack_dir"].startswith(site)
    assert found["packs"] == sorted(p.name for p in (REPO / "corpus" / "vectors").glob("*.npz"))
    assert (found["widget"], found["console"], found["healthz"]) == (200, 200, 200)


@pytest.mark.slow
def test_the_installed_command_answers_from_another_directory(installed, tmp_path):
    question = "实验动物生产许可的咨询电话是多少？"
    run = subprocess.run([str(installed / "zhengwu"), "ask", "--json", question], cwd=tmp_path,
                         env=_env(tmp_path, ZHENGWU_CORPUS_DIR=str(FIXTURE_CORPUS)),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    answer = json.loads(run.stdout)
    assert answer["status"] == "answered" and answer["citations"], answer
    assert (tmp_path / "data" / "zhengwu" / "index").is_dir()  # the default data folder, under XDG_DATA_HOME
