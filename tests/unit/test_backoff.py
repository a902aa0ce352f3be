"""Pure scheduling: backoff with jitter, the crash-loop guard, the next time-based due check."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from introd.backoff import Backoff, CrashGuard, auth_backoff, network_backoff, next_due_check
from introd.intros import Timing

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def test_backoff_grows_to_its_cap_and_stays_within_half_and_full_delay() -> None:
    """Attempt n waits between d/2 and d with d = min(cap, base * factor**n)."""
    b = Backoff(base=1, cap=60, factor=2, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(60, 2 ** n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 60


def test_backoff_jitter_comes_from_the_injected_rng_and_reset_starts_over() -> None:
    """The same seed gives the same schedule; reset() returns to the first step."""
    a = Backoff(rng=random.Random(1))
    b = Backoff(rng=random.Random(1))
    assert [a.next_delay() for _ in range(5)] == [b.next_delay() for _ in range(5)]
    a.reset()
    assert a.next_delay() <= 1.0


def test_authentication_failures_back_off_slowly() -> None:
    """A rejected login is retried after minutes, never seconds (no lockout storms)."""
    b = auth_backoff(random.Random(3))
    assert all(d >= 150 for d in (b.next_delay() for _ in range(10)))
    assert network_backoff(random.Random(3)).next_delay() <= 1.0


def test_crash_guard_pauses_after_too_many_crashes_in_the_window() -> None:
    """Five crashes within ten minutes pause the account; crashes spread out do not."""
    g = CrashGuard(limit=5, window=600, pause=1800)
    assert [g.record(t) for t in (0, 1, 2, 3)] == [0, 0, 0, 0]
    assert g.record(4) == 1800
    assert g.tripped_count() == 0
    spread = CrashGuard(limit=3, window=100)
    assert [spread.record(t) for t in (0, 150, 300, 450)] == [0, 0, 0, 0]


def test_next_due_check_is_the_next_threshold_crossed() -> None:
    """With an intro that started 1.5 days ago and owe_reply_days = 2, the next check is at day 2 (+1 s)."""
    timing = Timing(owe_reply_days=2, timezone="UTC")
    started = NOW - timedelta(days=1, hours=12)
    when = next_due_check(NOW, 7 * 86400, timing, [started])
    assert when == started + timedelta(days=2, seconds=1)


def test_next_due_check_never_later_than_the_interval() -> None:
    """With no anchors, or thresholds far away, the interval bounds the wait."""
    timing = Timing(timezone="UTC")
    assert next_due_check(NOW, 3600, timing, []) == NOW + timedelta(hours=1)
    assert next_due_check(NOW, 3600, timing, [NOW - timedelta(hours=1)]) == NOW + timedelta(hours=1)


def test_next_due_check_counts_business_days_and_extra_instants() -> None:
    """Friday + 2 business days is Tuesday; a snooze ending earlier wins."""
    friday = datetime(2026, 3, 13, 10, 0, tzinfo=timezone.utc)
    timing = Timing(owe_reply_days=2, nudge_days=5, business_days=True, timezone="UTC")
    saturday = friday + timedelta(days=1)
    assert next_due_check(saturday, 30 * 86400, timing, [friday]) == datetime(
        2026, 3, 17, 10, 0, 1, tzinfo=timezone.utc)
    snooze_end = saturday + timedelta(hours=3)
    assert next_due_check(saturday, 30 * 86400, timing, [friday], [snooze_end]) == snooze_end + timedelta(seconds=1)
