"""The digest schedule: periods in the user's zone (across DST), due once per period, one catch-up after downtime."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from introd.config import DigestConfig
from introd.digest_schedule import current_period, due_period, next_check

BERLIN = ZoneInfo("Europe/Berlin")
CFG = DigestConfig(day="monday", time="08:00", timezone="Europe/Berlin")
UTC = timezone.utc


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_the_period_starts_at_the_scheduled_minute() -> None:
    """A minute before Monday 08:00 local is last week's period; 08:00 sharp starts this week's."""
    before = current_period(at(2026, 3, 16, 7, 59), CFG)
    on = current_period(at(2026, 3, 16, 8, 0), CFG)
    assert before.id == "2026-W11" and on.id == "2026-W12"
    assert on.start == at(2026, 3, 16, 8, 0).astimezone(UTC)
    assert before.end == on.start
    assert on.previous_start == before.start


def test_spring_forward_week_is_167_hours() -> None:
    """The week containing the switch to summer time still runs from Monday 08:00 to Monday 08:00 local."""
    period = current_period(at(2026, 3, 28, 12, 0), CFG)  # Berlin switches on Sunday 29 March 2026
    assert period.start.astimezone(BERLIN).hour == 8 and period.end.astimezone(BERLIN).hour == 8
    assert period.end - period.start == timedelta(hours=167)
    assert current_period(period.end, CFG).id == "2026-W14"


def test_fall_back_week_is_169_hours() -> None:
    """The week of the switch back to winter time is an hour longer, and still one period."""
    period = current_period(at(2026, 10, 27, 12, 0), CFG)  # the Monday after 25 October 2026
    previous = current_period(period.start - timedelta(minutes=1), CFG)
    assert previous.end - previous.start == timedelta(hours=169)
    assert previous.end.astimezone(BERLIN).hour == 8


def test_a_slot_inside_the_dst_gap_is_moved_forward_deterministically() -> None:
    """Sunday 02:30 does not exist on 29 March 2026 in Berlin: that week's slot is 03:30 summer time."""
    cfg = DigestConfig(day="sunday", time="02:30", timezone="Europe/Berlin")
    period = current_period(at(2026, 3, 29, 12, 0), cfg)
    assert period.start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert period.id == "2026-W13"


def test_naive_now_is_refused() -> None:
    """The clock must be timezone-aware."""
    with pytest.raises(ValueError):
        current_period(datetime(2026, 3, 16, 8, 0), CFG)


def test_first_run_sends_at_once_then_not_again() -> None:
    """With no digest yet the current period is due; once handled it is not due again in the same period."""
    now = at(2026, 3, 18, 10, 0)
    period = due_period(now, None, CFG)
    assert period is not None and period.id == "2026-W12"
    assert due_period(now + timedelta(days=4), period.id, CFG) is None
    assert due_period(period.end, period.id, CFG) is not None  # next Monday 08:00


def test_a_week_of_downtime_gives_one_catch_up() -> None:
    """After more than a week down, only the current period is due: one catch-up, never a backlog."""
    last = "2026-W10"
    back = at(2026, 3, 19, 15, 0)  # W11's slot and W12's slot were both missed
    period = due_period(back, last, CFG)
    assert period is not None and period.id == "2026-W12"
    assert due_period(back + timedelta(minutes=1), period.id, CFG) is None


def test_a_clock_behind_the_last_period_sends_nothing() -> None:
    """If the last digest's period is later than now's (clock moved back, zone changed), nothing is due."""
    assert due_period(at(2026, 3, 18, 10, 0), "2026-W13", CFG) is None


def simulate(cfg: DigestConfig, start: datetime, hours: int, down: set[int]) -> list[tuple[int, str]]:
    """An hourly runner (down in the given hours) that records the period of every digest it would send."""
    last: str | None = "0000-W00"
    sent: list[tuple[int, str]] = []
    for hour in range(hours):
        if hour in down:
            continue
        period = due_period(start + timedelta(hours=hour), last, cfg)
        if period is not None:
            last = period.id
            sent.append((hour, period.id))
    return sent


def test_hourly_runner_sends_one_digest_per_period_and_one_after_downtime() -> None:
    """Four weeks, hourly checks, down for all of week 2 and into week 3: one per period, one catch-up."""
    start = at(2026, 3, 2, 0, 30)  # Monday before the first slot
    down = set(range(24 * 7 + 9, 24 * 16))  # from Monday 09:30 of week 2 to Wednesday of week 3
    sent = simulate(CFG, start, 24 * 28, down)
    ids = [p for _h, p in sent]
    assert len(ids) == len(set(ids))  # never twice for one period
    assert ids == ["2026-W09", "2026-W10", "2026-W11", "2026-W12", "2026-W13"]
    catch_up = next(h for h, p in sent if p == "2026-W12")
    assert catch_up == 24 * 16  # the first hour back


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(["monday", "wednesday", "sunday"]), st.sampled_from(["00:00", "02:30", "08:00", "23:59"]),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"]))
def test_every_instant_lies_in_exactly_one_period(now: datetime, day: str, time: str, tz: str) -> None:
    """start <= now < end, the next period starts where this one ends, and ids increase."""
    cfg = DigestConfig(day=day, time=time, timezone=tz)
    period = current_period(now, cfg)
    assert period.start <= now < period.end
    following = current_period(period.end, cfg)
    assert following.start == period.end and following.id > period.id
    assert timedelta(hours=166) <= period.end - period.start <= timedelta(hours=170)


def test_next_check_is_now_when_due_else_the_next_slot() -> None:
    """The runner can sleep until the next slot once this period's digest is handled."""
    now = at(2026, 3, 18, 10, 0)
    assert next_check(now, None, CFG) == now.astimezone(UTC)
    assert next_check(now, "2026-W12", CFG) == at(2026, 3, 23, 8, 0).astimezone(UTC)
