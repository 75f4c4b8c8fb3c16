"""Retention (PIPL Art. 19): conversation turns and sessions are kept for the configured number of days
(``ZHENGWU_RETENTION_DAYS``) and then purged; ``zhengwu privacy purge`` runs this daily."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zhengwu.personal.store import PeopleStore


def purge_old_conversations(people: PeopleStore, retention_days: int) -> tuple[int, int]:
    """Delete conversation turns and sessions older than the retention period."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    return people.purge_turns(cutoff), people.purge_sessions(cutoff.timestamp())
