"""Shared pieces of the reliability suite: a seeded mailbox, `introd run --once` subprocesses, mailbox snapshots."""

from __future__ import annotations

import email
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email import policy
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import imapclient

from tests.corpus_loader import load_scenarios
from tests.servers.dovecot import DovecotServer, MailUser, imap_client

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "INTROD_RELIABILITY_PW"
USER = "priya@raman-design.example"
COUNTS_FILE = Path(os.environ.get("INTROD_RELIABILITY_COUNTS", "/tmp/introd-reliability-counts.json"))
SEED_SCENARIOS = ("seed000-kathy-mary-steven-as-steven", "seed001-surprised-party",
                  "seed002-requester-plus-optin-make-intro", "seed004-salesy-pitch-unanswered-dead")


def record_count(name: str, value: int) -> None:
    """Add ``value`` to the counter ``name`` in the counts file (read by the README table)."""
    data: dict[str, int] = {}
    if COUNTS_FILE.exists():
        try:
            data = json.loads(COUNTS_FILE.read_text())
        except ValueError:
            data = {}
    data[name] = data.get(name, 0) + value
    COUNTS_FILE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def intro(n: int, when: datetime) -> bytes:
    """A deterministic out-of-the-blue introduction of the user (a no_optin draft is due at once)."""
    date = format_datetime(when - timedelta(minutes=5 + n))
    return (f"From: Dana Whitfield <dana@whitfield-pr.example>\r\nTo: Priya Raman <{USER}>,\r\n"
            f" Marcus Bell{n} <marcus{n}@bellventures{n}.example>\r\nSubject: Priya <> Marcus{n}\r\n"
            f"Date: {date}\r\nMessage-ID: <rel-intro-{n}@whitfield-pr.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n"
            f"Priya, meet Marcus{n}! Marcus{n}, meet Priya!\r\n\r\n"
            f"Marcus{n} is starting something new and I immediately thought of you, Priya. Marcus{n}, Priya is "
            "the designer I was raving about at dinner.\r\n\r\nI'll let you two take it from here!!\r\n\r\n"
            "xx Dana\r\n").encode()


def small_mailbox(intros: int = 6) -> list[tuple[str, bytes, datetime]]:
    """(folder, bytes, INTERNALDATE) of a small mailbox: fresh intros plus the seed scenarios' threads."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    out = [("INBOX", intro(n, now), now - timedelta(minutes=5 + n)) for n in range(intros)]
    scenarios = {s.name: s for s in load_scenarios()}
    for name in SEED_SCENARIOS:
        for sample in scenarios[name].samples:
            raw = sample.path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            msg = email.message_from_bytes(raw, policy=policy.default)
            out.append((sample.folder, raw, parsedate_to_datetime(str(msg["Date"]))))
    return out


def load(server: DovecotServer, user: MailUser, messages: list[tuple[str, bytes, datetime]]) -> None:
    """APPEND every message over a second connection."""
    client = imap_client(server, user)
    try:
        for folder, raw, when in messages:
            flags = ("\\Seen", "\\Draft") if folder == "Drafts" else ("\\Seen",)
            client.append(folder, raw, flags=flags, msg_time=when)
    finally:
        client.logout()


def write_config(directory: Path, host: str, port: int, user: MailUser, *, timeout: int = 10,
                 extra: str = "") -> Path:
    """A config file for one plain loopback IMAP account whose password comes from the environment."""
    path = directory / "config.toml"
    path.write_text(f"""
[state]
path = "{directory / 'state.db'}"
[[accounts]]
name = "work"
host = "{host}"
port = {port}
security = "plain"
username = "{user.username}"
password_env = "{PASSWORD_ENV}"
addresses = ["{USER}", "{user.email}"]
display_name = "Priya Raman"
timeout = {timeout}
{extra}""")
    return path


def introd_argv(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "introd", *args, "--config", str(config)]


def introd_env(user: MailUser) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "daemon"), PASSWORD_ENV: user.password}


def run_once(config: Path, user: MailUser, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`introd run --once -v` to completion."""
    return subprocess.run(introd_argv(config, "run", "--once", "-v", *args), capture_output=True, text=True,
                          env=introd_env(user), timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def run_and_kill(config: Path, user: MailUser, delay: float, log: Path, *, after: str = "") -> tuple[bool, str]:
    """Start `introd run --once -v`, SIGKILL it ``delay`` s after start (or after log text ``after`` appears);
    (killed before it finished, the last line it logged)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(introd_argv(config, "run", "--once", "-v"), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=introd_env(user))
        deadline = time.monotonic() + 60
        while after and proc.poll() is None and after not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "introd never logged " + after
            time.sleep(0.002)
        try:
            proc.wait(delay)
            killed = False
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL: no cleanup, no atexit, no finally
            proc.wait()
            killed = True
    lines = [ln for ln in log.read_text(errors="replace").splitlines()
             if ln.strip() and not ln.startswith("DEBUG mailparser")]
    return killed, (lines[-1][:140] if lines else "(nothing logged yet)")


def pass_seconds(config: Path, user: MailUser, log: Path) -> float:
    """How long a full pass takes after login (measured like run_and_kill waits for it)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(introd_argv(config, "run", "--once", "-v"), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=introd_env(user))
        while proc.poll() is None and "logged in" not in log.read_text(errors="replace"):
            time.sleep(0.002)
        start = time.monotonic()
        assert proc.wait(60) == 0, log.read_text()
    return time.monotonic() - start


def own_messages(server: DovecotServer, user: MailUser) -> Counter[tuple[str, str]]:
    """(folder, X-Introd-Action) of every message introd wrote, with multiplicity."""
    client = imap_client(server, user)
    found: Counter[tuple[str, str]] = Counter()
    try:
        for _flags, _delim, name in client.list_folders():
            client.select_folder(name, readonly=True)
            uids = client.search(["HEADER", "X-Introd-Action", ""])
            if not uids:
                continue
            data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (X-INTROD-ACTION)]"])
            for d in data.values():
                raw = next(v for k, v in d.items() if k.startswith(b"BODY["))
                value = email.message_from_bytes(raw, policy=policy.default)["X-Introd-Action"]
                found[(str(name), " ".join(str(value).split()))] += 1
    finally:
        client.logout()
    return found


def user_messages(client: imapclient.IMAPClient) -> Counter[tuple[str, bytes]]:
    """(folder, bytes) of every message that is not introd's own: what introd must never change."""
    found: Counter[tuple[str, bytes]] = Counter()
    for _flags, _delim, name in client.list_folders():
        client.select_folder(name, readonly=True)
        uids = client.search("ALL")
        for d in (client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}).values():
            raw = bytes(d[b"BODY[]"])
            if b"\nX-Introd-Action:" not in raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n"):
                found[(str(name), raw)] += 1
    return found


def integrity(state_db: Path) -> str:
    """SQLite's own verdict on the state file."""
    db = sqlite3.connect(state_db)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def seeded(seed: int) -> random.Random:
    return random.Random(seed)


# --- the long-running daemon -------------------------------------------------------------------------------

class Daemon:
    """`introd run -v` (IDLE watchers, passes on new mail) in a subprocess, its log in a file."""

    def __init__(self, config: Path, user: MailUser, log: Path) -> None:
        self.config = config
        self.user = user
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> Daemon:
        with open(self.log_path, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(introd_argv(self.config, "run", "-v"), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=introd_env(self.user))
        self.started_at = time.monotonic()
        return self

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mark(self) -> int:
        """The log's current length: ``wait(..., since=mark)`` looks only at what is logged afterwards."""
        return len(self.text())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, needle: str, *, since: int = 0, count: int = 1, timeout: float = 30.0) -> int:
        """Until ``needle`` was logged ``count`` times after offset ``since``; the offset just past the last one."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            found, pos = 0, since
            while found < count:
                at = text.find(needle, pos)
                if at < 0:
                    break
                found, pos = found + 1, at + len(needle)
            if found >= count:
                return pos
            if not self.alive():
                raise AssertionError(f"introd exited before logging {needle!r}:\n{self.last_lines(30)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"introd did not log {needle!r} within {timeout} s:\n{self.last_lines(30)}")
            time.sleep(0.003)

    def last_lines(self, n: int = 1) -> str:
        lines = [ln for ln in self.text().splitlines() if ln.strip() and not ln.startswith("DEBUG mailparser")]
        return "\n".join(ln[:160] for ln in lines[-n:]) if lines else "(nothing logged yet)"

    def kill(self) -> str:
        """SIGKILL (no cleanup, no atexit, no finally); the last line it had logged."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        return self.last_lines(1)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; the exit status."""
        assert self.proc is not None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"introd did not stop within {timeout} s:\n{self.last_lines(30)}") from None


PASS_START = "pass started ("
PASS_DONE = "next due check at"  # logged (-v) once a pass, the weekly digest included, is over


def without_digest(own: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Own messages but the weekly digest (filed by the daemon, not by `run --once`)."""
    return Counter({k: v for k, v in own.items() if not k[1].startswith("digest;")})


def digests(own: Counter[tuple[str, str]]) -> int:
    return sum(v for k, v in own.items() if k[1].startswith("digest;"))


def summary(got: Counter[tuple[str, bytes]], want: Counter[tuple[str, bytes]]) -> str:
    """A short account of how two mailbox snapshots differ (folder and Subject of each extra or missing one)."""
    def names(c: Counter[tuple[str, bytes]]) -> list[str]:
        out = []
        for (folder, raw), n in c.items():
            subject = re.search(rb"^Subject: ([^\r\n]{0,60})", raw, re.M)
            out.append(f"{folder}: {subject.group(1).decode(errors='replace') if subject else '?'} x{n}")
        return out
    return f"extra {names(got - want)}, missing {names(want - got)}"
