"""ISO 8601 durations (``P1M``, ``P14D``, ``PT2H``) with calendar-aware month arithmetic."""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True)
class Duration:
    """A calendar duration: months are added by the calendar, the rest as exact time."""

    months: int = 0
    days: int = 0
    seconds: int = 0

    def approx_days(self) -> float:
        """About how many days this is (a month as 30.44 days): for comparing, never for dates."""
        return self.months * 30.44 + self.days + self.seconds / 86400

    def times(self, factor: int) -> Duration:
        return Duration(self.months * factor, self.days * factor, self.seconds * factor)

    def before(self, moment: datetime) -> datetime:
        """The moment this duration before ``moment`` (months back by the calendar, as ``after``)."""
        return Duration(-self.months, -self.days, -self.seconds).after(moment)

    def after(self, moment: datetime) -> datetime:
        """The moment this duration after ``moment``; month ends are clamped (Jan 31 + P1M = Feb 28)."""
        if self.months:
            index = moment.month - 1 + self.months
            year, month = moment.year + index // 12, index % 12 + 1
            day = min(moment.day, calendar.monthrange(year, month)[1])
            moment = moment.replace(year=year, month=month, day=day)
        return moment + timedelta(days=self.days, seconds=self.seconds)


MAX_DAYS = 100 * 366  # nothing in a project is further away; beyond, dates would overflow


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration of at most 100 years; raises ``ValueError`` with a readable message."""
    if isinstance(text, str):
        return _parse_text(text)
    raise ValueError(f"{type(text).__name__} is not an ISO 8601 duration such as P14D, P1M or PT12H")


@functools.lru_cache(maxsize=1024)
def _parse_text(text: str) -> Duration:
    """(A project's few durations are parsed again for every deadline it computes: kept once parsed.)"""
    match = _DURATION.match(text.strip()) if len(text) <= 40 else None
    if not match:
        raise ValueError(f"{repr(text)[:40]} is not an ISO 8601 duration such as P14D, P1M or PT12H")
    n = {k: int(v) for k, v in match.groupdict(default="0").items()}
    duration = Duration(
        months=n["years"] * 12 + n["months"],
        days=n["weeks"] * 7 + n["days"],
        seconds=n["hours"] * 3600 + n["minutes"] * 60 + n["seconds"],
    )
    if duration.approx_days() > MAX_DAYS:
        raise ValueError(f"{text.strip()} is longer than 100 years")
    return duration
