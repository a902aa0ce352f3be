"""Broken and hostile mail through `introd run --once` against Dovecot: no crash, bounded memory, clean drafts."""

from __future__ import annotations

import email
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from email import policy
from email.utils import getaddresses
from pathlib import Path

import pytest

from tests.reliability import harness as h
from tests.reliability import hostile
from tests.servers.dovecot import DovecotServer, MailUser, imap_client

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

# Headers introd may put on a draft or a reminder; anything else would be injected.
DRAFT_HEADERS = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "in-reply-to", "references",
                 "mime-version", "content-type", "content-transfer-encoding", "x-introd-action", "auto-submitted",
                 "x-introd-thread", "x-introd-state"}
RSS_LIMIT_KB = 120 * 1024  # the 50 MB attachment alone would be ~2-3 copies of 50 MB in imapclient


def _measured_run(config: Path, user: MailUser) -> tuple[subprocess.CompletedProcess[str], int]:
    """`introd run --once` in a wrapper that reports the child's peak RSS (kB)."""
    wrapper = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[1:])\n"
               "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(r.returncode)\n")
    done = subprocess.run([sys.executable, "-c", wrapper, *h.introd_argv(config, "run", "--once", "-v")],
                          capture_output=True, text=True, env=h.introd_env(user), timeout=180, check=False)
    match = re.search(r"MAXRSS (\d+)", done.stderr)
    assert match, done.stderr[-2000:]
    return done, int(match.group(1))


def _own(dovecot: DovecotServer, user: MailUser) -> list[tuple[str, bytes]]:
    client = imap_client(dovecot, user)
    out = []
    try:
        for _f, _d, name in client.list_folders():
            client.select_folder(name, readonly=True)
            uids = client.search(["HEADER", "X-Introd-Action", ""])
            for d in (client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}).values():
                out.append((str(name), bytes(d[b"BODY[]"])))
    finally:
        client.logout()
    return out


def test_hostile_corpus_is_survived_counted_and_never_injected(dovecot: DovecotServer, mail_user: MailUser,
                                                               tmp_path: Path) -> None:
    """Every hostile message is indexed or skipped-and-counted, RSS stays bounded, no draft header is injected."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cases = hostile.corpus(now)
    client = imap_client(dovecot, mail_user)
    for raw in cases.values():
        client.append("INBOX", raw, flags=(), msg_time=now)
    client.logout()
    config = h.write_config(tmp_path, dovecot.host, dovecot.port, mail_user, timeout=60)
    done, rss_kb = _measured_run(config, mail_user)
    print(f"hostile corpus: {len(cases)} messages, peak RSS of `run --once` {rss_kb // 1024} MB")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert rss_kb < RSS_LIMIT_KB
    db = sqlite3.connect(tmp_path / "state.db")
    indexed = {uid for (uid,) in db.execute("SELECT uid FROM messages WHERE folder='INBOX'")}
    reasons = dict(db.execute("SELECT uid, reason FROM skipped").fetchall())
    db.close()
    print(f"hostile corpus: skipped as malformed (UID: reason): {reasons}")
    skipped = len(reasons)
    assert skipped >= 1  # the message with no headers at all
    assert indexed | set(reasons) == set(range(1, len(cases) + 1))  # every message is indexed or counted
    status = subprocess.run(h.introd_argv(config, "status", "--json"), capture_output=True, text=True,
                            env=h.introd_env(mail_user), timeout=60, check=False)
    assert f'"skipped": {skipped}' in status.stdout
    own = _own(dovecot, mail_user)
    assert sum(1 for folder, _ in own if folder == "Drafts") >= 15
    for folder, raw in own:
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert b"\r" not in head.replace(b"\r\n", b""), f"bare CR in a header in {folder}"
        assert all(len(line) <= 998 for line in head.split(b"\r\n"))
        msg = email.message_from_bytes(raw, policy=policy.default)
        names = {k.lower() for k in msg}
        assert names <= DRAFT_HEADERS, f"unexpected headers {names - DRAFT_HEADERS} in {folder}: {head!r}"
        assert not msg.defects, msg.defects
        for value in msg.values():
            assert "\n" not in str(value) and "\r" not in str(value)
        for key in ("To", "Cc", "Bcc", "From", "Reply-To"):  # names may quote the attack; addresses never
            addresses = {addr.lower() for _name, addr in getaddresses([str(v) for v in msg.get_all(key, [])])}
            assert "victim@evil.example" not in addresses, f"injected recipient in {key} in {folder}"
        for key in ("References", "In-Reply-To", "Message-ID"):
            assert "victim" not in str(msg.get(key, "")), f"injected {key} in {folder}"
    again = h.run_once(config, mail_user)  # the next pass does not trip over what the first one stored
    assert again.returncode == 0 and "Traceback" not in again.stderr
    h.record_count("hostile_messages", len(cases))
    h.record_count("hostile_skipped", skipped)
