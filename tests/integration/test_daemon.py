"""`introd run` as a long-running daemon against a real Dovecot: IDLE latency, reconnects, signals, status."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import imapclient
import pytest
from tests.conftest import running_dovecot
from tests.servers.dovecot import DovecotServer, MailUser, imap_client
from tests.servers.dovecot import descendants as dovecot_descendants
from tests.servers.proxy import TcpProxy
from tests.servers.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
USER = "priya@raman-design.example"
PASSWORD_ENV = "INTROD_TEST_PW"


def intro_message(n: int, *, to: str = USER, when: datetime | None = None) -> tuple[bytes, str]:
    """An out-of-the-blue introduction of the user (no opt-in: a no_optin draft is due at once); (raw, Message-ID)."""
    mid = f"intro-{n}-{uuid.uuid4().hex[:12]}@whitfield-pr.example"
    date = format_datetime((when or datetime.now(timezone.utc)) - timedelta(minutes=5))
    raw = (f"From: Dana Whitfield <dana@whitfield-pr.example>\r\nTo: Priya Raman <{to}>,\r\n"
           f" Marcus Bell{n} <marcus{n}@bellventures{n}.example>\r\nSubject: Priya <> Marcus{n}\r\n"
           f"Date: {date}\r\nMessage-ID: <{mid}>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n"
           f"Priya, meet Marcus{n}! Marcus{n}, meet Priya!\r\n\r\n"
           f"Marcus{n} is starting something new and I immediately thought of you, Priya. Marcus{n}, Priya is "
           "the designer I was raving about at dinner.\r\n\r\nI'll let you two take it from here!!\r\n\r\nxx Dana\r\n")
    return raw.encode(), mid


def filler(n: int) -> bytes:
    return (f"From: News {n} <news@letters.example>\r\nTo: {USER}\r\nSubject: Weekly digest {n}\r\n"
            f"Date: Mon, 02 Mar 2026 10:{n % 60:02d}:00 +0000\r\nMessage-ID: <filler{n}@letters.example>\r\n"
            "List-Id: <weekly.letters.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
            f"Nothing to see {n}\r\n").encode()


def drafts_answering(client: imapclient.IMAPClient, mid: str) -> list[int]:
    client.select_folder("Drafts", readonly=True)
    return list(client.search(["HEADER", "In-Reply-To", f"<{mid}>"]))


def wait_for(cond: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``cond`` until it is truthy; the seconds it took (AssertionError naming ``what`` after ``timeout``)."""
    start = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


class NotifySocket:
    """A fake ``$NOTIFY_SOCKET``: a datagram socket collecting every sd_notify message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except OSError:
                continue

    def assignments(self) -> list[str]:
        return [line for m in list(self.messages) for line in m.splitlines()]

    def close(self) -> None:
        self._stop = True
        self._thread.join(1)
        self.sock.close()


class Daemon:
    """`introd run` in a subprocess, its log in a file."""

    def __init__(self, config: Path, env: dict[str, str], log: Path) -> None:
        self.config = config
        self.log_path = log
        self.env = {**os.environ, "PYTHONPATH": str(ROOT / "daemon"), **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self.flags: list[str] = ["-v"] if os.environ.get("INTROD_TEST_DEBUG") else []

    def start(self, *extra: str) -> Daemon:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "introd", "run", *self.flags, "--config", str(self.config), *extra]
        self.proc = subprocess.Popen(argv,
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, pattern: str, timeout: float = 15.0, count: int = 1) -> float:
        def seen() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"introd exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            return len(re.findall(pattern, self.log())) >= count
        try:
            return wait_for(seen, timeout, f"log line {pattern!r}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log()[-3000:]}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send ``sig`` and wait; (exit status, seconds it took)."""
        assert self.proc is not None
        start = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"introd did not stop within {timeout} s:\n{self.log()[-3000:]}") from None
        self._log.close()
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self._log.close()


def account_toml(name: str, server_host: str, port: int, user: MailUser, password_env: str, **extra: object) -> str:
    keys: dict[str, object] = {"name": name, "addresses": [USER], "display_name": "Priya Raman",
                               "host": server_host, "port": port, "security": "plain", "username": user.username,
                               "password_env": password_env, "timeout": 3, "keepalive": 60, **extra}
    return "[[accounts]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())


def write_config(tmp_path: Path, accounts: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[state]\npath = "{tmp_path / "state.db"}"\n\n{accounts}\n'
                    '[timing]\ntimezone = "UTC"\n' + extra)
    return path


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Every daemon a test starts is killed at the end, whatever happened."""
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def append(server: DovecotServer, user: MailUser, raw: bytes, folder: str = "INBOX") -> None:
    client = imap_client(server, user)
    try:
        client.append(folder, raw, flags=())
    finally:
        client.logout()


def start_daemon(daemons: list[Daemon], tmp_path: Path, config: Path, env: dict[str, str],
                 notify: NotifySocket | None = None, name: str = "introd.log") -> Daemon:
    if notify is not None:
        env = {**env, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    d = Daemon(config, env, tmp_path / name).start()
    daemons.append(d)
    return d


def test_new_intro_gets_its_draft_within_two_seconds(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path,
                                                     notify: NotifySocket, daemons: list[Daemon]) -> None:
    """While `introd run` runs, an intro appended by another connection gets its draft within 2 s; the daemon
    tells systemd READY=1, STATUS= per account and WATCHDOG=1."""
    config = write_config(tmp_path, account_toml("work", dovecot.host, dovecot.port, mail_user, PASSWORD_ENV))
    d = start_daemon(daemons, tmp_path, config, {PASSWORD_ENV: mail_user.password}, notify)
    d.wait_log(r"work: watching INBOX")
    d.wait_log(r"work: 0 drafts written")
    client = imap_client(dovecot, mail_user)
    latencies = []
    try:
        for n in range(8):
            raw, mid = intro_message(n)
            start = time.monotonic()
            client.append("INBOX", raw)
            wait_for(lambda mid=mid: drafts_answering(client, mid), 5, f"the draft answering {mid}", step=0.02)
            latencies.append(time.monotonic() - start)
    finally:
        client.logout()
    print(f"new-mail-to-draft latency: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")
    assert statistics.median(latencies) < 2.0 and max(latencies) < 3.0, latencies
    wait_for(lambda: "WATCHDOG=1" in notify.assignments(), 3, "WATCHDOG=1")
    lines = notify.assignments()
    assert "READY=1" in lines
    assert any(line.startswith("STATUS=") and "work: idle" in line for line in lines), lines
    code, took = d.stop()
    print(f"SIGTERM to exit: {took:.2f} s")
    assert code == 0 and took < 10
    assert "STOPPING=1" in notify.assignments()


def drop_into_maildir(user: MailUser, raw: bytes) -> None:
    """Deliver a message the way an MDA does, straight into the Maildir (works while Dovecot is down)."""
    new = user.maildir / "new"
    new.mkdir(parents=True, exist_ok=True)
    path = new / f"{time.time_ns()}.M1P{os.getpid()}.test"
    path.write_bytes(raw)
    st = user.maildir.stat()
    with contextlib.suppress(PermissionError):
        os.chown(path, st.st_uid, st.st_gid)


def hard_stop(server: DovecotServer) -> None:
    """Stop Dovecot like a server restart does: the master and every session process it started."""
    master = server.master_pid()
    assert master is not None
    sessions = dovecot_descendants(master)
    server.stop()
    for pid in sessions:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def private_dovecot() -> Iterator[DovecotServer]:
    """A Dovecot of this test's own, so stopping it leaves the session server alone."""
    yield from running_dovecot()


def test_dovecot_restart_reconnects_and_processes_mail_that_arrived_meanwhile(
        private_dovecot: DovecotServer, tmp_path: Path, daemons: list[Daemon]) -> None:
    """Dovecot stopped for 10 s and started again: the daemon reconnects by itself and drafts the intro that
    arrived while the server was down."""
    server = private_dovecot
    user = server.new_user()
    config = write_config(tmp_path, account_toml("work", server.host, server.port, user, PASSWORD_ENV))
    d = start_daemon(daemons, tmp_path, config, {PASSWORD_ENV: user.password})
    d.wait_log(r"work: 0 drafts written")
    d.wait_log(r"work: watching INBOX")
    hard_stop(server)
    raw, mid = intro_message(1)
    drop_into_maildir(user, raw)
    time.sleep(10)  # the outage the daemon must ride out
    server.start()
    restarted = time.monotonic()
    client = imap_client(server, user)
    try:
        wait_for(lambda: drafts_answering(client, mid), 30, "the draft of the intro that arrived meanwhile")
    finally:
        client.logout()
    print(f"restart to draft: {time.monotonic() - restarted:.2f} s")
    assert "watcher reconnected" in d.log()
    assert "Traceback" not in d.log()
    assert d.stop()[0] == 0


def test_silently_dropped_connections_are_detected_and_replaced(dovecot: DovecotServer, mail_user: MailUser,
                                                                tmp_path: Path, daemons: list[Daemon]) -> None:
    """A proxy that stops forwarding without closing anything: the bounded IDLE wait and NOOP round trip
    notice it, the watchers reconnect, and new mail is drafted."""
    proxy = TcpProxy(dovecot.host, dovecot.port)
    try:
        config = write_config(tmp_path, account_toml("work", proxy.host, proxy.port, mail_user, PASSWORD_ENV,
                                                     keepalive=2, timeout=2))
        d = start_daemon(daemons, tmp_path, config, {PASSWORD_ENV: mail_user.password})
        d.wait_log(r"work: 0 drafts written")
        wait_for(lambda: len(proxy.live()) == 4, 10, "the worker and three watcher connections")
        assert proxy.freeze() == 4
        dropped = time.monotonic()
        raw, mid = intro_message(2)
        append(dovecot, mail_user, raw)  # straight to Dovecot: the frozen connections never hear of it
        client = imap_client(dovecot, mail_user)
        try:
            wait_for(lambda: drafts_answering(client, mid), 20, "the draft after the silent drop")
        finally:
            client.logout()
        print(f"silent drop to draft: {time.monotonic() - dropped:.2f} s")
        d.wait_log(r"watcher reconnected", count=3)
        assert len(proxy.live()) == 4  # replaced, not multiplied
        assert d.stop()[0] == 0
    finally:
        proxy.close()


def test_sigterm_mid_pass_exits_zero_and_the_next_start_duplicates_and_misses_nothing(
        dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path, daemons: list[Daemon]) -> None:
    """SIGTERM at several moments of the first big pass: exit status 0 within 10 s each time, and the passes
    after it write exactly one draft per intro (nothing twice, nothing missed)."""
    config = write_config(tmp_path, account_toml("work", dovecot.host, dovecot.port, mail_user, PASSWORD_ENV))
    env = {PASSWORD_ENV: mail_user.password}
    mids: list[str] = []
    stops = []
    for round_, delay in enumerate((0.0, 0.15, 0.3)):
        client = imap_client(dovecot, mail_user)  # new mail for every round, so every start has a real pass
        try:
            client.multiappend("INBOX", [filler(round_ * 2000 + n) for n in range(2000)])
            for n in range(3):
                raw, mid = intro_message(100 + round_ * 10 + n)
                client.append("INBOX", raw)
                mids.append(mid)
        finally:
            client.logout()
        d = start_daemon(daemons, tmp_path, config, env)
        d.wait_log(r"work: pass started", count=len(stops) + 1)
        time.sleep(delay)
        code, took = d.stop()
        stops.append(took)
        assert code == 0 and took < 10, d.log()[-2000:]
    print(f"SIGTERM mid-pass to exit: {', '.join(f'{t:.2f}' for t in stops)} s")
    done = subprocess.run([sys.executable, "-m", "introd", "run", "--once", "--config", str(config)],
                          env={**os.environ, "PYTHONPATH": str(ROOT / "daemon"), **env}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    client = imap_client(dovecot, mail_user)
    try:
        for mid in mids:
            assert len(drafts_answering(client, mid)) == 1, mid
        client.select_folder("Drafts", readonly=True)
        ids = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        client.select_folder("Intros/Reminders", readonly=True)
        reminders = client.search(["HEADER", "X-Introd-Action", "reminder;"])
        digests = client.search(["HEADER", "X-Introd-Action", "digest;"])
    finally:
        client.logout()
    headers = [v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"] for v in ids.values()]
    assert len(headers) == len(set(headers)) == len(mids)
    assert len(reminders) == len(mids)
    assert len(digests) == 1  # no [smtp]: the week's digest is filed, once, across every restart
    assert "Traceback" not in Path(tmp_path / "introd.log").read_text()


def status_json(config: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "introd", "status", "--json", "--config", str(config)],
                          env={**os.environ, "PYTHONPATH": str(ROOT / "daemon")}, capture_output=True, text=True,
                          timeout=60, check=True)
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_two_accounts_one_with_a_wrong_password(dovecot: DovecotServer, tmp_path: Path,
                                                daemons: list[Daemon]) -> None:
    """An account whose login is rejected does not stop the other; `status` shows both truthfully."""
    good, bad = dovecot.new_user(), dovecot.new_user()
    accounts = (account_toml("good", dovecot.host, dovecot.port, good, "INTROD_GOOD_PW")
                + account_toml("bad", dovecot.host, dovecot.port, bad, "INTROD_BAD_PW"))
    config = write_config(tmp_path, accounts)
    d = start_daemon(daemons, tmp_path, config, {"INTROD_GOOD_PW": good.password, "INTROD_BAD_PW": "wrong"})
    d.wait_log(r"good: 0 drafts written")
    d.wait_log(r"bad: .*login rejected.*retrying in")
    raw, mid = intro_message(3)
    append(dovecot, good, raw)
    client = imap_client(dovecot, good)
    try:
        wait_for(lambda: drafts_answering(client, mid), 5, "the good account's draft")
    finally:
        client.logout()
    accounts_status = {a["name"]: a for a in status_json(config)["accounts"]}  # type: ignore[attr-defined]
    assert accounts_status["good"]["connected"] is True and accounts_status["good"]["last_sync"]
    assert accounts_status["good"]["last_error"] is None
    assert accounts_status["good"]["intros_by_stage"] and accounts_status["good"]["pending_actions"]
    assert accounts_status["bad"]["connected"] is False and accounts_status["bad"]["last_sync"] is None
    assert "login rejected" in accounts_status["bad"]["last_error"]
    assert "wrong" not in json.dumps(accounts_status) and good.password not in d.log()
    assert d.log().count("bad: ") < 10  # retried slowly, not in a storm
    assert d.stop()[0] == 0
    after = {a["name"]: a for a in status_json(config)["accounts"]}  # type: ignore[attr-defined]
    assert after["good"]["connected"] is False  # the daemon is gone: nobody is connected


def test_sighup_with_a_broken_config_keeps_the_old_one(dovecot: DovecotServer, mail_user: MailUser,
                                                       tmp_path: Path, notify: NotifySocket,
                                                       daemons: list[Daemon]) -> None:
    """SIGHUP with a broken config logs why and keeps running the old config; a good one is applied."""
    text = account_toml("work", dovecot.host, dovecot.port, mail_user, PASSWORD_ENV)
    config = write_config(tmp_path, text)
    d = start_daemon(daemons, tmp_path, config, {PASSWORD_ENV: mail_user.password}, notify)
    d.wait_log(r"work: 0 drafts written")
    good = config.read_text()
    config.write_text(good.replace("timeout = 3", "timeout = 70000"))
    d.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
    d.wait_log(r"reload rejected.*accounts\[0\]\.timeout")
    raw, mid = intro_message(4)
    append(dovecot, mail_user, raw)
    client = imap_client(dovecot, mail_user)
    try:
        wait_for(lambda: drafts_answering(client, mid), 5, "a draft under the old config")
    finally:
        client.logout()
    config.write_text(good.replace('display_name = "Priya Raman"', 'display_name = "Priya R."'))
    d.proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
    d.wait_log(r"configuration reloaded: 1 account\(s\); restarted work")
    d.wait_log(r"work: pass started", count=3)
    assert "RELOADING=1" in notify.assignments()
    assert notify.assignments().count("READY=1") >= 3  # start, and after each reload
    assert d.stop()[0] == 0


def test_a_second_instance_on_the_same_state_is_refused(dovecot: DovecotServer, mail_user: MailUser,
                                                        tmp_path: Path, daemons: list[Daemon]) -> None:
    """A second `introd run` on the same state file exits with status 6 and says which lock it met."""
    config = write_config(tmp_path, account_toml("work", dovecot.host, dovecot.port, mail_user, PASSWORD_ENV))
    d = start_daemon(daemons, tmp_path, config, {PASSWORD_ENV: mail_user.password})
    d.wait_log(r"work: pass started")
    second = subprocess.run([sys.executable, "-m", "introd", "run", "--config", str(config)],
                            env={**os.environ, "PYTHONPATH": str(ROOT / "daemon"), PASSWORD_ENV: "x"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 6
    assert "in use by another introd process" in second.stderr
    assert d.stop()[0] == 0


def test_the_daemon_mails_the_weekly_digest_once_across_a_restart(
        dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path, daemons: list[Daemon], smtp: SmtpServer) -> None:
    """`introd run` mails the week's digest to the user over TLS with AUTH; a restart does not send it again."""
    client = imap_client(dovecot, mail_user)
    client.append("INBOX", intro_message(1)[0])
    client.logout()
    smtp_toml = (f'[smtp]\nhost = "localhost"\nport = {smtp.tls_port}\nsecurity = "tls"\nusername = "{smtp.user}"\n'
                 f'password_env = "INTROD_TEST_SMTP_PW"\nca_file = "{smtp.ca_file}"\n')
    config = write_config(tmp_path, account_toml("work", dovecot.host, dovecot.port, mail_user, PASSWORD_ENV),
                          smtp_toml)
    env = {PASSWORD_ENV: mail_user.password, "INTROD_TEST_SMTP_PW": smtp.password}
    d = start_daemon(daemons, tmp_path, config, env)
    d.wait_log(r"work: weekly digest \S+: sent")
    wait_for(lambda: len(smtp.messages) == 1, 5, "the digest at the SMTP server")
    (received,) = smtp.messages
    assert received.rcpt_tos == [USER]
    assert received.message.get_content_type() == "multipart/alternative"
    assert str(received.message["X-Introd-Action"]).strip().startswith("digest;")
    assert d.stop()[0] == 0
    again = start_daemon(daemons, tmp_path, config, env, name="introd-2.log")
    again.wait_log(r"work: 0 drafts written")
    time.sleep(0.5)
    assert len(smtp.messages) == 1
    assert again.stop()[0] == 0
