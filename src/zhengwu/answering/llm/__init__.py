"""The optional LLM path: a generator over any OpenAI-compatible endpoint, its prompts (``prompts/*.md``), and
the verification every reply passes before a citizen sees it."""

from zhengwu.answering.llm.generator import LLMGenerator

__all__ = ["LLMGenerator"]
