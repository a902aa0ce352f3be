"""Crash safety: `introd run --once` killed with SIGKILL at seeded random points, then run again to completion."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.servers.dovecot import DovecotServer, imap_client

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

ITERATIONS = int(os.environ.get("INTROD_CRASH_ITERATIONS", "32"))
SEED = int(os.environ.get("INTROD_CRASH_SEED", "20261125"))


def _phase(line: str) -> str:
    """A kill point's log line without the per-run details, for the summary."""
    return re.sub(r"\S+@\S+|\d+", "#", line)[:70]


def test_sigkill_at_random_points_never_duplicates_or_loses_an_action(dovecot: DovecotServer,
                                                                      tmp_path: Path) -> None:
    """After SIGKILL at any point of a pass (once or twice) and one full pass, the mailbox equals a clean run's."""
    mailbox = h.small_mailbox()
    ref_user = dovecot.new_user()
    h.load(dovecot, ref_user, mailbox)
    ref_dir = tmp_path / "reference"
    ref_dir.mkdir()
    ref_config = h.write_config(ref_dir, dovecot.host, dovecot.port, ref_user)
    # The kill delays are drawn over the part of a pass that talks to the server (after login).
    window = h.pass_seconds(ref_config, ref_user, ref_dir / "reference.log")
    reference = h.own_messages(dovecot, ref_user)
    assert reference and max(reference.values()) == 1
    assert any(folder == "Drafts" for folder, _ in reference)
    rng = h.seeded(SEED)
    killed_mid_pass = repaired = 0
    points: Counter[str] = Counter()
    for i in range(ITERATIONS):
        user = dovecot.new_user()
        h.load(dovecot, user, mailbox)
        client = imap_client(dovecot, user)
        before = h.user_messages(client)
        client.logout()
        run_dir = tmp_path / f"run{i:02d}"
        run_dir.mkdir()
        config = h.write_config(run_dir, dovecot.host, dovecot.port, user)
        for k in range(1 if rng.random() < 0.6 else 2):
            early = rng.random() < 0.15  # sometimes before login: while the state file is being opened
            delay = round(rng.uniform(0.0, 0.25) if early else rng.uniform(0.0, 1.1 * window), 4)
            was_killed, where = h.run_and_kill(config, user, delay, run_dir / f"kill{k}.log",
                                               after="" if early else "logged in")
            print(f"crash {i:02d}.{k}: SIGKILL {delay:.4f} s after {'start' if early else 'login'}: "
                  f"{'killed' if was_killed else 'finished first'}; last log line: {where}")
            if was_killed:
                killed_mid_pass += 1
                points[_phase(where)] += 1
        done = h.run_once(config, user)
        assert done.returncode == 0, done.stderr[-2000:]
        repaired += len(re.findall(r"confirmed .* after an interrupted pass|redid the interrupted APPEND",
                                   done.stderr))
        after = h.own_messages(dovecot, user)
        assert after == reference, f"iteration {i}: {after - reference} extra, {reference - after} missing"
        assert h.integrity(run_dir / "state.db") == "ok"
        again = h.run_once(config, user)  # nothing is left to do, and nothing is done twice
        assert again.returncode == 0
        assert h.own_messages(dovecot, user) == reference
        client = imap_client(dovecot, user)
        assert h.user_messages(client) == before, f"iteration {i}: the user's own mail changed"
        client.logout()
    print(f"crash kill points: {dict(points)}; interrupted APPENDs repaired on restart: {repaired}")
    h.record_count("crash_iterations", ITERATIONS)
    h.record_count("sigkills_mid_pass", killed_mid_pass)
    h.record_count("interrupted_appends_repaired", repaired)
    assert killed_mid_pass >= ITERATIONS // 2  # the delays really land inside passes
