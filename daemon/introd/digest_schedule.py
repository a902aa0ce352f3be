"""When the weekly digest is due: pure functions of ``now``, the last period sent and [digest].

A *period* is the week that starts at one scheduled slot (``day`` at ``time`` in ``timezone``) and ends at
the next. Its id is the ISO week of the slot's local date (``2026-W12``), so ids sort in time order and a
period has exactly one id whatever the wall clock did (DST, restarts, a changed ``day``). The digest of a
period is due from its slot on; after downtime only the current period is due, so missed weeks produce one
catch-up, never a backlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from introd.config import DigestConfig


@dataclass(frozen=True)
class Period:
    """One digest period: ``start`` is its scheduled slot, ``end`` the next one (both UTC)."""

    id: str
    start: datetime
    end: datetime

    @property
    def previous_start(self) -> datetime:
        """The slot one period earlier (UTC): the digest reports on what happened since then."""
        return self.start - (self.end - self.start)


def _slot(day: date, cfg: DigestConfig) -> datetime:
    """The scheduled instant on ``day``, in UTC; a wall time skipped by DST maps forward, a repeated one to
    its first occurrence (PEP 495 fold=0)."""
    hour, minute = cfg.hour_minute
    local = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(cfg.timezone))
    return local.astimezone(timezone.utc)


def period_id(day: date) -> str:
    """The id of the period whose slot falls on the local date ``day``: its ISO week."""
    iso = day.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def current_period(now: datetime, cfg: DigestConfig) -> Period:
    """The period ``now`` falls in: the latest slot at or before ``now`` up to the next slot."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(ZoneInfo(cfg.timezone))
    day = local.date() - timedelta(days=(local.weekday() - cfg.weekday) % 7)
    if _slot(day, cfg) > now.astimezone(timezone.utc):
        day -= timedelta(days=7)
    # Slots are computed from local dates, never by adding 168 hours: a DST week is 167 or 169 hours long.
    return Period(id=period_id(day), start=_slot(day, cfg), end=_slot(day + timedelta(days=7), cfg))


def due_period(now: datetime, last_sent: str | None, cfg: DigestConfig) -> Period | None:
    """The period whose digest is due at ``now``, or None.

    ``last_sent`` is the id of the latest period already handled (sent, filed or in flight). Only the
    current period can be due: after any downtime that is one catch-up. With no digest ever sent, the
    current period is due at once (the first digest goes out when introd first runs).
    """
    period = current_period(now, cfg)
    if last_sent is not None and last_sent >= period.id:
        return None
    return period


def next_check(now: datetime, last_sent: str | None, cfg: DigestConfig) -> datetime:
    """When the runner should next call ``due_period``: ``now`` if a digest is due, else the next slot (UTC)."""
    if due_period(now, last_sent, cfg) is not None:
        return now.astimezone(timezone.utc)
    return current_period(now, cfg).end
