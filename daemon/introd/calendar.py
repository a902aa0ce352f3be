"""Pure day counting in the user's time zone: calendar days or business days (Mon-Fri).

A "day" is a wall-clock day in the user's zone, so 10:00 Saturday to 10:00 Sunday is one day even when a DST
change makes it 23 or 25 hours long.  Nothing here reads the clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

_SATURDAY = 5


@lru_cache(maxsize=64)
def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for ``tz`` (cached: this runs once per message per pass)."""
    return ZoneInfo(tz)


def local(when: datetime, tz: str) -> datetime:
    """``when`` as a naive wall-clock time in ``tz`` (naive input is taken as UTC)."""
    aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return aware.astimezone(zone(tz)).replace(tzinfo=None)


def _aware(wall: datetime, tz: str) -> datetime:
    """A wall-clock time in ``tz`` as an aware UTC datetime (a time in a DST gap moves forward)."""
    return wall.replace(tzinfo=zone(tz)).astimezone(timezone.utc)


def is_business_day(day: date) -> bool:
    """True Monday to Friday."""
    return day.weekday() < _SATURDAY


def _to_business(wall: datetime) -> datetime:
    """A weekend wall-clock time moved to the following Monday 00:00; weekdays unchanged."""
    if is_business_day(wall.date()):
        return wall
    day = wall.date()
    while not is_business_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time())


def _business_dates(start: date, end: date) -> int:
    """Business days in [start, end)."""
    if end <= start:
        return 0
    weeks, extra = divmod((end - start).days, 7)
    count = weeks * 5
    day = start + timedelta(days=weeks * 7)
    for _ in range(extra):
        count += is_business_day(day)
        day += timedelta(days=1)
    return count


def days_between(start: datetime, end: datetime, *, business_days: bool, tz: str) -> int:
    """Whole days elapsed from ``start`` to ``end`` on the wall clock of ``tz``; never negative.

    With ``business_days`` Saturdays and Sundays do not count: a weekend instant counts as Monday 00:00.
    """
    s, e = local(start, tz), local(end, tz)
    if e <= s:
        return 0
    if business_days:
        s, e = _to_business(s), _to_business(e)
        n = _business_dates(s.date(), e.date())
    else:
        n = (e.date() - s.date()).days
    if e.time() < s.time():
        n -= 1
    return max(n, 0)


@lru_cache(maxsize=65536)  # the same anchors and thresholds come back every pass
def add_days(start: datetime, days: int, *, business_days: bool, tz: str) -> datetime:
    """The first instant at which ``days`` whole days have elapsed since ``start`` (aware, UTC)."""
    wall = local(start, tz)
    if business_days:
        wall = _to_business(wall)
        day, left = wall.date(), days
        while left > 0:
            day += timedelta(days=1)
            left -= is_business_day(day)
        wall = datetime.combine(day, wall.time())
    else:
        wall += timedelta(days=days)
    return _aware(wall, tz)
