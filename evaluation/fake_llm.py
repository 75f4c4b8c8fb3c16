"""An extractive stand-in for an OpenAI-compatible model: for demos, and to measure the LLM path end to end
on a machine without a GPU.

It serves ``POST /v1/chat/completions`` (plain and ``"stream": true``) and answers like a careful model
would: it reads the numbered sources in the prompt, picks the source sharing most characters with the
question, and repeats its first sentences with that source's ``[n]``. With ``--hallucinate 0.3`` it appends a
made-up phone number to about 30% of its replies (chosen by a hash of the question, so runs repeat), which the
assistant's verification must catch.

    python evaluation/fake_llm.py --port 8001 [--hallucinate 0.3]
    ZHENGWU_LLM_BASE_URL=http://127.0.0.1:8001/v1 zhengwu eval ../shared/eval/guides_dev.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

_SOURCE = re.compile(r"^\[(\d+)\] 《([^》]*)》(.*)$", re.M)
_QUESTION = re.compile(r"用户问题：(.*)")


def reply_for(prompt: str, hallucinate: float) -> str:
    question_match = _QUESTION.search(prompt)
    if not question_match:  # the follow-up rewriting prompt: hand the question back unchanged
        return prompt.strip().splitlines()[-1].split("：", 1)[-1]
    question = question_match.group(1).strip()
    starts = list(_SOURCE.finditer(prompt))
    best, best_overlap = None, 0
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else prompt.find("用户问题：")
        body = prompt[match.end():end].strip()
        overlap = len(set(question) & set(match.group(2) + match.group(3) + body))
        if overlap > best_overlap:
            best, best_overlap = (int(match.group(1)), body), overlap
    if best is None:
        return "现有资料中没有找到相关内容。"
    n, body = best
    sentences = [s for s in re.split(r"(?<=[。；])|\n", body) if s.strip()][:2]
    text = "".join(f"{s.strip().rstrip('。；')}。[{n}]" for s in sentences)
    bucket = int(hashlib.sha256(question.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < hallucinate:
        text += f"如有疑问请拨打020-88886666咨询。[{n}]"
    return text


def make_app(hallucinate: float = 0.0) -> FastAPI:
    app = FastAPI(title="fake OpenAI-compatible model")

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        content = reply_for(body["messages"][-1]["content"], hallucinate)
        model = body.get("model", "fake-extractive")
        if body.get("stream"):
            return StreamingResponse(_chunks(content, model), media_type="text/event-stream")
        return {
            "id": "fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    return app


async def _chunks(content: str, model: str):
    for i in range(0, len(content), 6):
        delta = {"content": content[i:i + 6]}
        body = {"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--hallucinate", type=float, default=0.0, help="share of replies given a made-up phone")
    args = parser.parse_args()
    uvicorn.run(make_app(args.hallucinate), host=args.host, port=args.port, log_level="warning")
