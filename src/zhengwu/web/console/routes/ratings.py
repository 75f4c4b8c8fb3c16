"""The citizens' and reviewers' 好差评 ratings in the console: 差评 rectification (整改) tracked to 回访."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
