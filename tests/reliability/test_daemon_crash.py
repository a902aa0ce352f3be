"""Crash safety of the long-running daemon: `introd run` (IDLE watchers) killed with SIGKILL at seeded points of
its passes, restarted, and compared with a daemon that was never killed."""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.servers.dovecot import DovecotServer, MailUser, imap_client

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

# Each iteration kills one daemon in its startup pass, one in the pass that handles mail appended while it
# runs, and (seeded, about half the time) the restarted one in its repair pass: about 2.5 kills per iteration.
ITERATIONS = int(os.environ.get("INTROD_DAEMON_CRASH_ITERATIONS", "12"))
SEED = int(os.environ.get("INTROD_DAEMON_CRASH_SEED", "20261126"))
NEW_INTROS = (100, 101, 102, 103, 104)  # appended while the daemon watches INBOX
SETTLE = 0.8  # Dovecot tells IDLE about the daemon's own drafts ~0.5 s later: the follow-up pass must add nothing


def _new_mail() -> list[tuple[str, bytes, datetime]]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return [("INBOX", h.intro(n, now), now - timedelta(minutes=1)) for n in NEW_INTROS]


def _phase(line: str) -> str:
    """A kill point's log line without the per-run details, for the summary."""
    return re.sub(r"\S+@\S+|\d+", "#", line.split(": ", 1)[-1])[:60]


class _Kills:
    """Every SIGKILL of the test, printed as it happens."""

    def __init__(self) -> None:
        self.total = 0
        self.mid_pass = 0
        self.points: Counter[str] = Counter()

    def kill(self, d: h.Daemon, label: str, since: int) -> None:
        """SIGKILL ``d``; it counts as mid-pass when a pass had begun after log offset ``since`` and not ended."""
        text = d.text()
        begun = text.find(h.PASS_START, since)
        mid_pass = begun >= 0 and h.PASS_DONE not in text[begun:]
        where = d.kill()
        self.total += 1
        if mid_pass:
            self.mid_pass += 1
            self.points[_phase(where)] += 1
        state = "killed mid-pass" if mid_pass else "pass had finished" if begun >= 0 else "killed before a pass"
        print(f"{label}: {state}; last log line: {where}")


def _reference(dovecot: DovecotServer, base: list[tuple[str, bytes, datetime]], tmp_path: Path
               ) -> tuple[Counter[tuple[str, str]], float, float]:
    """A daemon that is never killed: (its own messages at the end, startup pass s, new-mail pass s)."""
    user = dovecot.new_user()
    h.load(dovecot, user, base)
    run_dir = tmp_path / "reference"
    run_dir.mkdir()
    d = h.Daemon(h.write_config(run_dir, dovecot.host, dovecot.port, user), user, run_dir / "daemon.log").start()
    try:
        started = d.wait(h.PASS_START + "startup")
        t0 = time.monotonic()
        d.wait(h.PASS_DONE, since=started)
        startup = time.monotonic() - t0
        time.sleep(SETTLE)
        h.load(dovecot, user, _new_mail())
        mark = d.mark()
        begun = d.wait(h.PASS_START, since=mark)
        t0 = time.monotonic()
        d.wait(h.PASS_DONE, since=begun)
        new_mail = time.monotonic() - t0
        time.sleep(SETTLE)
        assert d.stop() == 0
    finally:
        if d.alive():
            d.kill()
    return h.own_messages(dovecot, user), startup, new_mail


def _check(dovecot: DovecotServer, user: MailUser, reference: Counter[tuple[str, str]], i: int) -> None:
    after = h.own_messages(dovecot, user)
    assert after == reference, f"iteration {i}: {after - reference} extra, {reference - after} missing"


def test_daemon_sigkill_at_random_points_never_duplicates_or_loses_an_action(dovecot: DovecotServer,
                                                                             tmp_path: Path) -> None:
    """SIGKILL of `introd run` in its startup pass, in a pass started by new mail (IDLE) and in the repair pass
    after a restart: once a restarted daemon has done one pass, the mailbox equals a never-killed daemon's."""
    base = h.small_mailbox(intros=3)
    reference, startup_window, new_mail_window = _reference(dovecot, base, tmp_path)
    assert reference and max(reference.values()) == 1
    drafted = {action for folder, action in reference if folder == "Drafts"}
    assert all(any(f"rel-intro-{n}@" in a for a in drafted) for n in NEW_INTROS)
    assert h.digests(reference) == 1
    print(f"daemon crash: startup pass {startup_window:.3f} s, new-mail pass {new_mail_window:.3f} s")
    rng = random.Random(SEED)
    kills = _Kills()
    repaired = 0
    started = time.monotonic()
    for i in range(ITERATIONS):
        user = dovecot.new_user()
        h.load(dovecot, user, base)
        client = imap_client(dovecot, user)
        before = h.user_messages(client)
        client.logout()
        run_dir = tmp_path / f"run{i:02d}"
        run_dir.mkdir()
        config = h.write_config(run_dir, dovecot.host, dovecot.port, user)
        logs = iter(run_dir / f"daemon{n}.log" for n in range(10))
        # 1. In the startup pass (now and then before it: while the state file is opened, or at login).
        d = h.Daemon(config, user, next(logs)).start()
        if rng.random() < 0.15:
            delay = round(rng.uniform(0.0, 0.3), 4)
            time.sleep(delay)
            kills.kill(d, f"daemon crash {i:02d}.a: SIGKILL {delay:.4f} s after exec", 0)
        else:
            delay = round(rng.uniform(0.0, 1.1 * startup_window), 4)
            d.wait(h.PASS_START + "startup")
            time.sleep(delay)
            kills.kill(d, f"daemon crash {i:02d}.a: SIGKILL {delay:.4f} s into the startup pass", 0)
        # 2. In the pass that handles mail appended while a restarted daemon watches INBOX.
        d = h.Daemon(config, user, next(logs)).start()
        d.wait(h.PASS_DONE)
        new_mail = _new_mail()
        h.load(dovecot, user, new_mail)
        before.update((folder, raw) for folder, raw, _when in new_mail)
        mark = d.mark()  # any pass that starts from here on sees the new mail
        delay = round(rng.uniform(0.0, 1.1 * new_mail_window), 4)
        d.wait(h.PASS_START, since=mark)
        time.sleep(delay)
        kills.kill(d, f"daemon crash {i:02d}.b: SIGKILL {delay:.4f} s into the new-mail pass", mark)
        # 3. Sometimes again, in the restarted daemon's repair pass.
        if rng.random() < 0.5:
            d = h.Daemon(config, user, next(logs)).start()
            delay = round(rng.uniform(0.0, 1.1 * startup_window), 4)
            d.wait(h.PASS_START + "startup")
            time.sleep(delay)
            kills.kill(d, f"daemon crash {i:02d}.c: SIGKILL {delay:.4f} s into the repair pass", 0)
        # One pass of a restarted daemon finishes the job: nothing twice, nothing missed.
        d = h.Daemon(config, user, next(logs)).start()
        try:
            d.wait(h.PASS_DONE)
            _check(dovecot, user, reference, i)
            time.sleep(SETTLE)  # the watchers report the daemon's own writes: the next pass writes nothing
            _check(dovecot, user, reference, i)
            assert d.alive(), d.last_lines(20)
        finally:
            if d.alive():
                d.kill()  # idle by now (SIGTERM's clean exit is tests/integration/test_daemon.py's business)
        text = "".join(p.read_text(errors="replace") for p in sorted(run_dir.glob("daemon*.log")))
        assert "crashed" not in text and not re.search(r"^ERROR", text, re.M), f"iteration {i}: {run_dir}"
        repaired += len(re.findall(r"confirmed .* after an interrupted pass|redid the interrupted APPEND", text))
        assert h.integrity(run_dir / "state.db") == "ok"
        client = imap_client(dovecot, user)
        after = h.user_messages(client)
        client.logout()
        assert after == before, f"iteration {i}: the user's mail changed: {h.summary(after, before)}"
    took = time.monotonic() - started
    print(f"daemon crash: {kills.total} SIGKILLs in {ITERATIONS} iterations ({took:.1f} s), {kills.mid_pass} "
          f"mid-pass; kill points: {dict(kills.points)}; interrupted APPENDs repaired: {repaired}")
    h.record_count("daemon_crash_iterations", ITERATIONS)
    h.record_count("daemon_sigkills", kills.total)
    h.record_count("daemon_sigkills_mid_pass", kills.mid_pass)
    h.record_count("daemon_interrupted_appends_repaired", repaired)
    assert kills.mid_pass >= ITERATIONS  # the delays really land inside passes
