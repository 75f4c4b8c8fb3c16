"""Prompt templates as files (``prompts/*.md``): front matter ``name`` and ``version``, then Chinese text with
``{placeholders}``. Loaded by name, so staff can change wording without touching code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from zhengwu.errors import OperatorError


class PromptError(OperatorError, RuntimeError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    text: str

    def format(self, **values: str) -> str:
        try:
            return self.text.format(**values)
        except (KeyError, IndexError) as exc:
            raise PromptError(f"prompt {self.name!r} v{self.version} needs placeholder {exc}") from exc

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@lru_cache(maxsize=64)
def load_prompt(directory: Path, name: str) -> Prompt:
    path = directory / f"{name}.md"
    if not path.exists():
        raise PromptError(f"prompt file {path} is missing (set ZHENGWU_PROMPTS_DIR to the prompts folder)")
    raw = path.read_text(encoding="utf-8")
    meta: dict = {}
    if raw.startswith("---\n"):
        head, sep, body = raw[4:].partition("\n---\n")
        if not sep:
            raise PromptError(f"{path}: front matter is not closed with '---'")
        meta = yaml.safe_load(head) or {}
        raw = body
    return Prompt(name=str(meta.get("name", name)), version=str(meta.get("version", "0")), text=raw.strip())
