"""Pure scheduling for the daemon: reconnect backoff with jitter, the crash-loop guard, the next due check.

Nothing here reads the clock or sleeps; the service passes ``now`` (monotonic seconds or datetimes) and an RNG.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from introd.calendar import add_days
from introd.intros import IntroAnalysis, Timing


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits in [d/2, d], d = min(cap, base * factor**n).

    Half the delay is fixed so a flapping server is never hammered; the random half spreads many accounts
    (or many introd instances) that lost the same server at the same moment.
    """

    base: float = 1.0
    cap: float = 300.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay of ``attempt`` (0-based)."""
        return float(min(self.cap, self.base * self.factor ** min(attempt, 64)))

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call moves one step up the schedule."""
        d = self.ceiling(self.attempt)
        self.attempt += 1
        return d / 2 + self.rng.uniform(0, d / 2)

    def reset(self) -> None:
        """Back to the first step (after a success)."""
        self.attempt = 0


def network_backoff(rng: random.Random | None = None) -> Backoff:
    """After a network error, BYE, restart or timeout: about 1 s, 1.5 s, 2.3 s ... (x1.5) up to 5 minutes."""
    return Backoff(base=1.0, cap=300.0, factor=1.5, rng=rng or random.Random())


def auth_backoff(rng: random.Random | None = None) -> Backoff:
    """After a rejected login or bad credentials: 5 min, 10 min ... up to 1 hour (no lockout storms)."""
    return Backoff(base=300.0, cap=3600.0, rng=rng or random.Random())


@dataclass
class CrashGuard:
    """Counts unexpected failures (bugs) of one account in a sliding window; too many pause the account.

    ``record(now)`` returns the number of seconds to pause (0 when the loop may go on at once).
    """

    limit: int = 5
    window: float = 600.0
    pause: float = 1800.0
    times: deque[float] = field(default_factory=deque)

    def record(self, now: float) -> float:
        """Note one crash at monotonic time ``now``; the pause it calls for."""
        self.times.append(now)
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) >= self.limit:
            self.times.clear()
            return self.pause
        return 0.0

    def tripped_count(self) -> int:
        """Crashes currently inside the window."""
        return len(self.times)


def _thresholds(timing: Timing) -> set[int]:
    return {d for d in (timing.owe_reply_days, timing.nudge_days, timing.stalled_days, timing.followup_days)
            if d > 0} | {timing.nudge_days * (n + 1) for n in range(timing.max_nudges + 1)}


def anchors(intros: Iterable[IntroAnalysis]) -> list[datetime]:
    """Every instant an intro's due dates are counted from: its start, last activity and last messages."""
    out: list[datetime] = []
    for item in intros:
        s = item.state
        out += [s.started, s.last_activity, *s.last_written.values()]
    return out


def next_due_check(now: datetime, interval: float, timing: Timing, when: Iterable[datetime],
                   extra: Iterable[datetime] = ()) -> datetime:
    """When the next time-based pass should run: the first day threshold crossed after ``now``, at the latest
    ``now + interval``.

    A threshold is crossed when ``N`` whole days (business days when configured, in the user's zone) have
    elapsed since an anchor; ``extra`` adds instants known otherwise (a snooze ending).
    """
    latest = now + timedelta(seconds=interval)
    best = latest
    days = sorted(_thresholds(timing))
    for anchor in when:
        for n in days:
            t = add_days(anchor, n, business_days=timing.business_days, tz=timing.timezone)
            if now < t < best:
                best = t
                break
            if t >= best:
                break
    for t in extra:
        if now < t < best:
            best = t
    # A second's slack so the pass runs just after the threshold, not just before it.
    return min(best + timedelta(seconds=1), latest) if best < latest else latest
