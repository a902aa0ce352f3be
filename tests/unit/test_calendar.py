"""Day counting in the user's zone: calendar days, business days, DST changes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from introd.calendar import add_days, days_between, is_business_day, local

BERLIN = "Europe/Berlin"
NY = "America/New_York"


def at(tz: str, *args: int) -> datetime:
    """A wall-clock time in ``tz`` as an aware UTC instant (same-zone datetime arithmetic is wall-clock)."""
    return datetime(*args).replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (datetime(2024, 3, 4, 10, tzinfo=timezone.utc), datetime(2024, 3, 6, 10, tzinfo=timezone.utc), 2),
        (datetime(2024, 3, 4, 10, tzinfo=timezone.utc), datetime(2024, 3, 6, 9, 59, tzinfo=timezone.utc), 1),
        (datetime(2024, 3, 4, 23, tzinfo=timezone.utc), datetime(2024, 3, 5, 1, tzinfo=timezone.utc), 0),
        (datetime(2024, 3, 6, 10, tzinfo=timezone.utc), datetime(2024, 3, 4, 10, tzinfo=timezone.utc), 0),
    ],
)
def test_calendar_days_are_whole_wall_clock_days(start: datetime, end: datetime, expected: int) -> None:
    """Only whole days count, and an end before the start counts as zero."""
    assert days_between(start, end, business_days=False, tz="UTC") == expected


def test_spring_forward_day_is_one_day_although_23_hours() -> None:
    """10:00 to 10:00 across the March DST change is one day on the Berlin wall clock (23 real hours)."""
    start, end = at(BERLIN, 2024, 3, 30, 10), at(BERLIN, 2024, 3, 31, 10)
    assert end - start == timedelta(hours=23)
    assert days_between(start, end, business_days=False, tz=BERLIN) == 1
    assert days_between(start, end, business_days=False, tz="UTC") == 0


def test_fall_back_day_needs_25_hours() -> None:
    """Across the November change in New York, 24 real hours are not yet a whole wall-clock day."""
    start = at(NY, 2024, 11, 2, 10)
    assert days_between(start, start + timedelta(hours=24), business_days=False, tz=NY) == 0
    assert days_between(start, start + timedelta(hours=25), business_days=False, tz=NY) == 1


def test_local_date_decides_the_day_not_utc() -> None:
    """23:30 UTC on Monday is already Tuesday in Berlin, so one day has passed by Wednesday 00:30 Berlin."""
    start = datetime(2024, 1, 1, 23, 30, tzinfo=timezone.utc)  # Tue 00:30 in Berlin
    end = at(BERLIN, 2024, 1, 3, 0, 30)
    assert local(start, BERLIN).day == 2
    assert days_between(start, end, business_days=False, tz=BERLIN) == 1


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((2024, 3, 1, 10), (2024, 3, 4, 10), 1),  # Fri -> Mon
        ((2024, 3, 1, 10), (2024, 3, 4, 9), 0),  # Fri -> Mon, an hour short
        ((2024, 3, 2, 12), (2024, 3, 5, 0), 1),  # Sat -> Tue 00:00: Monday counts whole
        ((2024, 3, 1, 10), (2024, 3, 3, 23), 0),  # Fri -> Sun: still Friday's business day running
        ((2024, 2, 26, 9), (2024, 3, 11, 9), 10),  # two full weeks
        ((2024, 3, 6, 9), (2024, 3, 8, 17), 2),  # Wed -> Fri
    ],
)
def test_business_days_skip_weekends(start: tuple[int, ...], end: tuple[int, ...], expected: int) -> None:
    """Saturdays and Sundays do not count, and a weekend instant counts as Monday 00:00."""
    assert days_between(at("UTC", *start), at("UTC", *end), business_days=True, tz="UTC") == expected


def test_business_days_across_dst() -> None:
    """Friday 10:00 before the March change to Monday 10:00 after it is one business day in Berlin."""
    assert days_between(at(BERLIN, 2024, 3, 29, 10), at(BERLIN, 2024, 4, 1, 10), business_days=True, tz=BERLIN) == 1


def test_add_days_lands_on_a_weekday() -> None:
    """Two business days after Thursday 15:00 is Monday 15:00."""
    due = add_days(at(BERLIN, 2024, 3, 7, 15), 2, business_days=True, tz=BERLIN)
    assert local(due, BERLIN) == datetime(2024, 3, 11, 15)
    assert is_business_day(local(due, BERLIN).date())


_instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1),
                         timezones=st.just(timezone.utc))


@given(_instants, st.integers(0, 40), st.booleans(), st.sampled_from(["UTC", BERLIN, NY, "Australia/Sydney"]))
def test_add_days_is_the_first_instant_with_n_days(start: datetime, n: int, business: bool, tz: str) -> None:
    """days_between reaches n exactly at add_days(start, n) and not a minute before."""
    due = add_days(start, n, business_days=business, tz=tz)
    assert days_between(start, due, business_days=business, tz=tz) >= n
    before = due - timedelta(minutes=61)
    # At the weekend the business clock stands still at Monday 00:00, so only a weekday "before" must count less.
    if n > 0 and (not business or is_business_day(local(before, tz).date())):
        assert days_between(start, before, business_days=business, tz=tz) < n


@given(_instants, _instants, _instants, st.booleans())
def test_days_between_is_monotonic(a: datetime, b: datetime, c: datetime, business: bool) -> None:
    """A later end never counts fewer days."""
    start, mid, end = sorted((a, b, c))
    assert days_between(start, mid, business_days=business, tz=BERLIN) <= days_between(
        start, end, business_days=business, tz=BERLIN)
