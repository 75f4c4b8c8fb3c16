"""The knowledge base in the console: documents staff upload, edit, publish, withdraw and roll back."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
