"""Working days (工作日) for rectification deadlines: Monday to Friday, except the public holidays the State
Council announces each year (``ZHENGWU_HOLIDAYS``), plus the weekend days worked in exchange (调休上班,
``ZHENGWU_WORKDAYS``). The holiday schedule is published every November for the next year; an operator adds
its dates to the settings, there is no built-in table to go stale.

``deadline(start)``: the 15th working day after ``start`` (the rating's day does not count, a rating on a
weekend or holiday starts counting at the next working day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from zhengwu.config import Settings, get_settings
from zhengwu.review.records import CHINA_TIME, RECTIFICATION_DAYS

MAX_STEPS = 3660  # ten years of days: a calendar of nothing but holidays is a settings mistake, not a loop


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # weekend days that are worked (调休)

    @classmethod
    def of(cls, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkCalendar:
        return cls(frozenset(holidays), frozenset(workdays))

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> WorkCalendar:
        settings = settings or get_settings()
        return cls.of(settings.holidays, settings.workdays)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        if days < 1:
            raise ValueError("count at least one working day")
        day, left = start, days
        for _ in range(MAX_STEPS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
                if left == 0:
                    return day
        raise ValueError("no working days in the next ten years: check ZHENGWU_HOLIDAYS")

    def deadline(self, rated_at: datetime, days: int = RECTIFICATION_DAYS) -> date:
        """When a rectification opened at ``rated_at`` is due (a date in China time)."""
        return self.add_working_days(rated_at.astimezone(CHINA_TIME).date(), days)


def china_today(now: datetime | None = None) -> date:
    return (now or datetime.now(CHINA_TIME)).astimezone(CHINA_TIME).date()
