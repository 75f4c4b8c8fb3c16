"""Retention, two periods: conversation content — turns and sessions, what citizens said — for
``ZHENGWU_RETENTION_DAYS`` (PIPL Art. 19: no longer than its purpose, reviewing answers, needs); the security
record — the staff access audit, masked metadata — for ``ZHENGWU_SECURITY_LOG_RETENTION_DAYS``, at least six
months (网络安全法 第二十一条). ``zhengwu privacy purge`` applies both; schedule it daily."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zhengwu.personal.store import PeopleStore

MIN_SECURITY_LOG_DAYS = 180


def purge_old_conversations(people: PeopleStore, retention_days: int) -> tuple[int, int]:
    """Delete conversation turns and sessions older than the retention period."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    return people.purge_turns(cutoff), people.purge_sessions(cutoff.timestamp())


def purge_security_logs(people: PeopleStore, retention_days: int) -> int:
    """Delete audit entries older than the security-log retention period (never less than 180 days)."""
    if retention_days < MIN_SECURITY_LOG_DAYS:
        raise ValueError(f"security logs are kept at least {MIN_SECURITY_LOG_DAYS} days (网络安全法 第二十一条)")
    return people.purge_audit(datetime.now(UTC) - timedelta(days=retention_days))
