"""The Telegram adapter (python-telegram-bot 21+): a bot that answers in private chats, by polling or by webhook.

    python -m zhengwu.channels.telegram                      long polling (the default, no public URL needed)
    python -m zhengwu.channels.telegram --set-webhook URL    register https://host/telegram/webhook instead
    POST /telegram/webhook                                   mounted by ``zhengwu serve`` when both
                                                             ZHENGWU_TELEGRAM_TOKEN and _WEBHOOK_SECRET are set

Commands: /start (welcome and consent prompt), /help, /reset (new conversation), /privacy (what is stored;
``/privacy on|off|export|delete``). Any other text is a question: a typing indicator, then the answer as HTML,
its citations as links, split below Telegram's 4,096-character limit. Only private chats are served: an answer
may be personalised, and a group is no place for it.

The Telegram user id becomes a user of the people store through ``ChannelCore`` (channel "telegram", external id
``str(user.id)``). Logs carry update ids and exception types, never message text or user ids.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import logging
import re
import secrets
import sys
import traceback
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Header, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from telegram import Bot, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from zhengwu.answering import wording
from zhengwu.answering.answer import Citation
from zhengwu.answering.citations import SOURCES_HEADING, citation_label
from zhengwu.channels.common import ChannelCore, Reply
from zhengwu.channels.dedupe import Deduper, make_deduper
from zhengwu.chinese import sentence_pieces
from zhengwu.config import Settings, get_settings, secret
from zhengwu.errors import OperatorError
from zhengwu.ops.observability import CHANNEL_ERRORS

CHANNEL = "telegram"
MESSAGE_LIMIT = 4096  # Telegram's limit for one message, in UTF-16 code units after entity parsing
SAFE_LIMIT = 4000  # what we send: measured on the HTML source, which is never shorter than the parsed text
TYPING_EVERY = 4.5  # seconds; Telegram shows "typing…" for 5 s or until the next message
UPDATE_DEDUPE_TTL = 24 * 3600  # Telegram keeps an unconfirmed update, and redelivers it, for up to a day
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token

log = logging.getLogger("zhengwu.telegram")


def _file_base(base_url: str) -> str:
    """The file-download base matching an API base: https://host/bot -> https://host/file/bot."""
    if "{token}" in base_url:
        return base_url.replace("/bot{token}", "/file/bot{token}")
    if base_url.endswith("/bot"):
        return base_url[: -len("bot")] + "file/bot"
    return base_url


def _token(settings: Settings) -> str:
    token = secret(settings.telegram_token)
    if not token:
        raise ValueError("ZHENGWU_TELEGRAM_TOKEN is not set (the token @BotFather gave you)")
    return token


# -- rendering --------------------------------------------------------------------------------------------------


def _u16(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return html.escape(text, quote=False)




def _cut_plain(text: str, limit: int) -> list[str]:
    """Escaped pieces of one long plain line, each at most ``limit``, cut after sentence ends where possible.
    Cutting the plain text (then escaping) never splits an entity such as ``&amp;``."""
    tokens: list[str] = []
    for sentence in sentence_pieces(text):
        escaped = _escape(sentence)
        tokens.extend([escaped] if _u16(escaped) <= limit else [_escape(ch) for ch in sentence])
    pieces: list[str] = []
    current, size = "", 0
    for token in tokens:
        n = _u16(token)
        if current and size + n > limit:
            pieces.append(current)
            current, size = "", 0
        current += token
        size += n
    if current:
        pieces.append(current)
    return pieces


def citation_html(c: Citation) -> str:
    """``<a href="url">[n] 《title》·section</a>``; without an http(s) URL, the same text without a link."""
    label = _escape(citation_label(c))
    if c.source_url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(c.source_url, quote=True)}">{label}</a>'
    return label


def render_html(reply: Reply, limit: int = SAFE_LIMIT) -> list[str]:
    """A reply as Telegram HTML messages, each at most ``limit`` UTF-16 units of source.

    The text is escaped line by line; each citation is one line holding a whole ``<a>`` element, and messages
    are cut only between lines (or, for a line too long by itself, between sentences of the plain text), so
    no cut ever falls inside a tag or an entity.
    """
    answer = reply.answer
    lines: list[tuple[str, bool]] = [(line, False) for line in (answer.text if answer else reply.text).split("\n")]
    if answer is not None and answer.citations:
        lines += [("", False), (SOURCES_HEADING, False)] + [(citation_html(c), True) for c in answer.citations]
    tokens: list[str] = []
    for line, is_html in lines:
        if is_html and _u16(line) <= limit:
            tokens.append(line)
            continue
        plain = html.unescape(re.sub(r"<[^>]+>", "", line)) if is_html else line
        escaped = _escape(plain)
        tokens.extend([escaped] if _u16(escaped) <= limit else _cut_plain(plain, limit))
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for token in tokens:
        n = _u16(token)
        if current and size + 1 + n > limit:  # +1: the line break joining it
            messages.append("\n".join(current))
            current, size = [], 0
        size += n + (1 if current else 0)
        current.append(token)
    if current:
        messages.append("\n".join(current))
    return [m.strip() for m in messages if m.strip()]


def _html_to_plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# -- the bot ----------------------------------------------------------------------------------------------------


class TelegramBot:
    """The handlers, over one ``ChannelCore``."""

    def __init__(self, settings: Settings, core: ChannelCore) -> None:
        self.settings = settings
        self.core = core
        self.apology = wording.say(wording.APOLOGY, settings.hotline)
        self.welcome = wording.say(wording.WELCOME, settings.hotline) + wording.TELEGRAM_WELCOME_EXTRA
        self.help_text = wording.HELP + wording.TELEGRAM_COMMANDS

    # plumbing
    @staticmethod
    def _who(update: Update) -> str:
        return str(update.effective_user.id)

    async def _send(self, bot: Bot, chat_id: int, reply: Reply) -> None:
        for piece in render_html(reply):
            try:
                await bot.send_message(chat_id, piece, parse_mode=ParseMode.HTML,
                                       link_preview_options=LinkPreviewOptions(is_disabled=True))
            except BadRequest as exc:  # entities Telegram would not parse: the same words without markup
                if "entities" not in str(exc).lower():
                    raise
                log.warning("telegram: HTML rejected, sending plain text instead")
                await bot.send_message(chat_id, _html_to_plain(piece),
                                       link_preview_options=LinkPreviewOptions(is_disabled=True))

    async def _say(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        await self._send(context.bot, update.effective_chat.id, Reply(text))

    async def _core(self, text: str, update: Update) -> Reply:
        return await asyncio.to_thread(self.core.handle_text, CHANNEL, self._who(update), text)

    async def _keep_typing(self, bot: Bot, chat_id: int) -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)

    # handlers
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, context, self.welcome)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, context, self.help_text)

    async def reset(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        reply = await self._core("重新开始", update)
        await self._send(context.bot, update.effective_chat.id, reply)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, context, wording.TELEGRAM_UNKNOWN_COMMAND + self.help_text)

    async def private_only(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, context, wording.TELEGRAM_PRIVATE_ONLY)

    async def non_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, context, wording.NON_TEXT)

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update.effective_message.text, str):  # a forged update's "text" may be a number or list
            await self._say(update, context, wording.NON_TEXT)
            return
        chat_id = update.effective_chat.id
        with contextlib.suppress(TelegramError):  # no indicator is no reason to withhold the answer
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        typing = asyncio.create_task(self._keep_typing(context.bot, chat_id))
        try:
            reply = await self._core(update.effective_message.text, update)
        finally:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing
        await self._send(context.bot, chat_id, reply)

    async def privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args = [a.lower() for a in (context.args or [])]
        action = args[0] if args else ""
        people = self.core.people
        if action in ("on", "开启"):
            reply = await self._core("开启个性化", update)
        elif action in ("off", "关闭"):
            reply = await self._core("关闭个性化", update)
        elif action in ("export", "导出"):
            await self._export(update, context)
            return
        elif action in ("delete", "删除"):
            if len(args) < 2 or args[1] not in ("confirm", "确认"):
                reply = Reply(wording.TELEGRAM_DELETE_ASK)
            elif people is None:
                reply = Reply(wording.NO_PERSONAL_STORE)
            else:
                reply = Reply(await asyncio.to_thread(self._delete, self._who(update)))
        else:
            reply = Reply(wording.TELEGRAM_PRIVACY.format(days=self.settings.retention_days))
        await self._send(context.bot, update.effective_chat.id, reply)

    def _delete(self, external_id: str) -> str:
        people = self.core.people
        user_id = people.user_for(CHANNEL, external_id, create=False)
        self.core.handle_text(CHANNEL, external_id, "重新开始")  # the next question starts a fresh session
        if user_id is None:
            return wording.NOTHING_STORED
        people.delete(user_id, actor="self")
        log.info("telegram: a user erased their data")
        return wording.TELEGRAM_DELETED

    def _export_data(self, external_id: str) -> bytes | None:
        people = self.core.people
        user_id = people.user_for(CHANNEL, external_id, create=False)
        if user_id is None:
            return None
        people.audit("self", "export", user_id)
        data = people.export(user_id)
        return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")

    async def _export(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.core.people is None:
            await self._say(update, context, wording.NO_PERSONAL_STORE)
            return
        data = await asyncio.to_thread(self._export_data, self._who(update))
        if data is None:
            await self._say(update, context, wording.NOTHING_STORED)
            return
        await context.bot.send_document(update.effective_chat.id, document=data,
                                        filename="zhengwu-personal-data.json", caption=wording.EXPORT_CAPTION)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        frames = traceback.extract_tb(err.__traceback__) if err is not None else []
        where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
        if not isinstance(update, Update):  # polling or network trouble, retried by the updater
            log.warning("telegram: %s outside an update (%s)", type(err).__name__, where)
            return
        # The exception's message may quote the user's text: its type and place only, the rest at DEBUG.
        log.error("telegram: update %s failed: %s at %s", update.update_id, type(err).__name__, where)
        CHANNEL_ERRORS.labels("telegram").inc()
        log.debug("telegram: update %s traceback", update.update_id, exc_info=err)
        chat = update.effective_chat
        if chat is not None:
            try:
                await context.bot.send_message(chat.id, self.apology)
            except Exception as exc:  # noqa: BLE001 - Telegram unreachable: nothing more to do
                log.warning("telegram: could not send the apology (%s)", type(exc).__name__)


def build_application(settings: Settings, core: ChannelCore, *, updater: bool = True) -> Application:
    """The bot, talking to ``settings.telegram_api_base``; ``updater=False`` for webhook mode."""
    base = settings.telegram_api_base
    builder = Application.builder().token(_token(settings)).base_url(base).base_file_url(_file_base(base))
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    bot = TelegramBot(settings, core)
    private = filters.ChatType.PRIVATE
    message = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", bot.start, filters=private & message))
    application.add_handler(CommandHandler("help", bot.help, filters=private & message))
    application.add_handler(CommandHandler("reset", bot.reset, filters=private & message))
    application.add_handler(CommandHandler("privacy", bot.privacy, filters=private & message))
    application.add_handler(MessageHandler(private & message & filters.COMMAND, bot.unknown_command))
    application.add_handler(MessageHandler(private & message & filters.TEXT, bot.text))
    application.add_handler(MessageHandler(private & message, bot.non_text))
    application.add_handler(MessageHandler(~private & message & filters.COMMAND, bot.private_only))
    application.add_error_handler(bot.error)
    return application


# -- polling ----------------------------------------------------------------------------------------------------


def build_core(settings: Settings) -> ChannelCore:
    """The assistant as ``zhengwu serve`` builds it (people store, database sessions, index built if empty)."""
    from zhengwu.bootstrap import open_services
    from zhengwu.ops.progress import progress_bars
    from zhengwu.pii import install_log_masking

    install_log_masking()
    services = open_services(settings, build=True, progress=progress_bars(),
                             say=lambda line: print(line, file=sys.stderr))
    services.assistant.warm_up()
    return ChannelCore(services.assistant, services.people, services.reviews)


def run_polling(settings: Settings | None = None) -> None:
    """Long polling until SIGINT/SIGTERM (a webhook set earlier is removed by Telegram on the first poll)."""
    settings = settings or get_settings()
    application = build_application(settings, build_core(settings))
    log.info("telegram: polling %s", settings.telegram_api_base.split("/bot")[0])
    application.run_polling(drop_pending_updates=False, allowed_updates=[Update.MESSAGE])


# -- webhook ----------------------------------------------------------------------------------------------------


def telegram_webhook_router(settings: Settings, get_core: Callable[[], ChannelCore]) -> APIRouter:
    """``POST /telegram/webhook``, checked against ``X-Telegram-Bot-Api-Secret-Token``; each ``update_id``
    processed once across workers (``dedupe``: Redis, else the database).

    The Application is initialised on the first genuine update (get_core needs the started service) and shut
    down with the service."""
    expected = (secret(settings.telegram_webhook_secret) or "").encode()
    if not expected:
        raise ValueError("ZHENGWU_TELEGRAM_WEBHOOK_SECRET is not set")
    _token(settings)
    holder: dict[str, Application | None] = {"app": None}
    starting = asyncio.Lock()
    bot_id = _token(settings).split(":", 1)[0]  # the public half of the token: which bot the updates are for
    dedupers: list[Deduper] = []

    def first(update_id: int) -> bool:
        """True for the first delivery of an update among all workers (Redis or the database)."""
        try:
            if not dedupers:
                people = get_core().people
                dedupers.append(make_deduper(settings, people.engine if people is not None else None))
            return dedupers[0].first(f"telegram:{bot_id}:update:{update_id}", UPDATE_DEDUPE_TTL)
        except Exception:  # noqa: BLE001 - better a rare double answer than no answer at all
            log.exception("telegram: the de-duplication store failed; processing the update anyway")
            return True

    async def application() -> Application:
        if holder["app"] is None:
            async with starting:
                if holder["app"] is None:
                    app = build_application(settings, get_core(), updater=False)
                    try:
                        await app.initialize()
                    except TelegramError as exc:
                        log.warning("telegram: cannot reach the Bot API (%s)", type(exc).__name__)
                        raise HTTPException(503, detail="Telegram Bot API unreachable") from exc
                    holder["app"] = app
        return holder["app"]

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if holder["app"] is not None:
            await holder["app"].shutdown()
            holder["app"] = None
            log.info("telegram: webhook application shut down")

    router = APIRouter(lifespan=lifespan)

    @router.post("/telegram/webhook", include_in_schema=False)
    async def webhook(
        request: Request,
        x_telegram_bot_api_secret_token: str | None = Header(default=None),
    ) -> Response:
        given = (x_telegram_bot_api_secret_token or "").encode()
        if not secrets.compare_digest(given, expected):
            raise HTTPException(403, detail="forbidden")
        try:
            body = await request.json()
        except (ValueError, RecursionError) as exc:  # not JSON, a 4,300-digit number, nesting too deep
            raise HTTPException(400, detail="not JSON") from exc
        except ClientDisconnect:  # gone before the body arrived: nobody to answer
            return Response(status_code=400)
        app = await application()
        try:
            update = Update.de_json(body, app.bot)
        except Exception as exc:  # noqa: BLE001 - an update we cannot read: acknowledged, or Telegram resends it
            log.warning("telegram: unreadable update (%s)", type(exc).__name__)
            return Response(status_code=200)
        # Telegram redelivers an update whose webhook call was slow or failed, maybe to another worker.
        if not await run_in_threadpool(first, update.update_id):
            log.info("telegram: update %s delivered again, processed already", update.update_id)
            return Response(status_code=200)
        try:
            await app.process_update(update)  # handler errors go to the error handler
        except Exception as exc:  # noqa: BLE001 - a malformed update python-telegram-bot chokes on (chat.id a list)
            log.warning("telegram: update %s could not be processed (%s)", update.update_id, type(exc).__name__)
        return Response(status_code=200)

    return router


def set_webhook(settings: Settings, url: str) -> bool:
    """Tell Telegram to POST updates to ``url`` (https) with the secret header; True when accepted."""
    token = _token(settings)
    webhook_secret = secret(settings.telegram_webhook_secret)
    if not webhook_secret or not SECRET_TOKEN.match(webhook_secret):
        raise ValueError("ZHENGWU_TELEGRAM_WEBHOOK_SECRET must be set: 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if not url.startswith("https://"):
        raise ValueError("Telegram delivers webhooks only to https:// URLs")

    async def register() -> bool:
        base = settings.telegram_api_base
        async with Bot(token, base_url=base, base_file_url=_file_base(base)) as bot:
            return await bot.set_webhook(url, secret_token=webhook_secret, allowed_updates=[Update.MESSAGE],
                                         drop_pending_updates=False)

    return asyncio.run(register())


# -- console entry point ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zhengwu.channels.telegram",
        description="Run the Telegram bot by long polling (default), or register the webhook URL.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--poll", action="store_true", help="long polling (the default)")
    mode.add_argument("--set-webhook", metavar="URL",
                      help="register URL (e.g. https://host/telegram/webhook) with the webhook secret, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token in the URL
    settings = get_settings()
    try:
        if args.set_webhook:
            ok = set_webhook(settings, args.set_webhook)
            print("webhook set" if ok else "Telegram refused the webhook", file=sys.stderr)
            return 0 if ok else 1
        run_polling(settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"error: Telegram Bot API: {exc}", file=sys.stderr)
        return 1
    except OperatorError as exc:  # e.g. the index is empty and there is no corpus to build it from
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
