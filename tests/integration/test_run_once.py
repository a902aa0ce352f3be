"""`introd run --once` against the real Dovecot: login, folders, incremental header sync, resync, TLS, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.servers.dovecot import DovecotServer, MailUser, imap_client

from introd.config import AccountConfig, Config, StateConfig
from introd.mailstore.base import MailStore
from introd.mailstore.imap import ImapStore
from introd.runner import run_once
from introd.store import StateStore

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def raw_message(n: int, subject: str = "Hello", to: str = "user@example.test") -> bytes:
    return (
        f"From: Sender {n} <sender{n}@example.org>\r\nTo: {to}\r\nSubject: {subject} {n}\r\n"
        f"Date: Mon, 02 Mar 2026 10:{n % 60:02d}:00 +0000\r\nMessage-ID: <msg{n}@example.org>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody {n}\r\n"
    ).encode()


def seed(server: DovecotServer, user: MailUser, inbox: int, sent: int) -> None:
    client = imap_client(server, user)
    try:
        for n in range(inbox):
            client.append("INBOX", raw_message(n), flags=("\\Seen",))
        for n in range(sent):
            client.append("Sent", raw_message(1000 + n, "Re: Hello"), flags=("\\Seen",))
    finally:
        client.logout()


def account_for(server: DovecotServer, user: MailUser, security: str = "plain", **kw: Any) -> AccountConfig:
    port = server.tls_port if security == "tls" else server.port
    return AccountConfig(name="work", addresses=(user.email,), host=kw.pop("host", server.host), port=port,
                         security=security, username=user.username, password_env="INTROD_TEST_PASSWORD",
                         ca_file=kw.pop("ca_file", server.ca_file), **kw)


def config_for(account: AccountConfig, tmp_path: Path) -> Config:
    return Config(path=tmp_path / "config.toml", state=StateConfig(tmp_path / "state.db"), accounts=(account,))


class CountingConnect:
    """Connect for real, and keep the stores so the test can read how many UIDs each pass fetched."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.stores: list[ImapStore] = []

    def __call__(self, account: AccountConfig) -> MailStore:
        store = ImapStore.connect(account, self.password)
        self.stores.append(store)
        return store

    @property
    def last(self) -> ImapStore:
        return self.stores[-1]


@pytest.fixture
def password_env(mail_user: MailUser, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("INTROD_TEST_PASSWORD", mail_user.password)
    return mail_user.password


def test_incremental_sync_fetches_only_new_mail(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path,
                                                password_env: str) -> None:
    """A second pass fetches nothing; a message appended in between is the only one fetched."""
    seed(dovecot, mail_user, inbox=12, sent=3)
    config = config_for(account_for(dovecot, mail_user), tmp_path)
    connect = CountingConnect(password_env)
    state = StateStore(config.state.path)
    first = run_once(config, state, clock=lambda: NOW, connect=connect)
    assert first[0].error is None
    assert connect.last.stats.headers_fetched == 15
    assert state.message_count("work", "INBOX") == 12
    assert state.message_count("work", "Sent") == 3
    roles = {f.role: f.folder for f in first[0].report.folders} if first[0].report else {}
    assert {"INBOX", "Sent", "Drafts"} <= set(roles)

    second = run_once(config, state, clock=lambda: NOW, connect=connect)
    assert second[0].error is None
    assert connect.last.stats.headers_fetched == 0
    assert all(f.new == 0 for f in second[0].report.folders) if second[0].report else False

    client = imap_client(dovecot, mail_user)
    client.append("INBOX", raw_message(99), flags=())
    client.logout()
    third = run_once(config, state, clock=lambda: NOW, connect=connect)
    assert third[0].error is None
    assert connect.last.stats.headers_fetched == 1
    assert state.message_count("work", "INBOX") == 13
    assert [m.message_id for m in state.messages_by_id("work", "msg99@example.org")] == ["msg99@example.org"]
    state.close()


def test_uidvalidity_change_resyncs_the_folder(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path,
                                               password_env: str) -> None:
    """When INBOX's UIDVALIDITY changes, the next pass refetches that folder only."""
    seed(dovecot, mail_user, inbox=5, sent=2)
    config = config_for(account_for(dovecot, mail_user), tmp_path)
    connect = CountingConnect(password_env)
    state = StateStore(config.state.path)
    run_once(config, state, clock=lambda: NOW, connect=connect)
    before = state.folder_position("work", "INBOX")
    assert before is not None
    dovecot.doveadm("mailbox", "update", "-u", mail_user.username, "--uid-validity",
                    str(before.uidvalidity + 1000), "INBOX")
    result = run_once(config, state, clock=lambda: NOW, connect=connect)
    assert result[0].report is not None
    inbox = next(f for f in result[0].report.folders if f.role == "INBOX")
    assert inbox.resynced and inbox.new == 5
    assert connect.last.stats.headers_fetched == 5  # Sent was not refetched
    after = state.folder_position("work", "INBOX")
    assert after is not None and after.uidvalidity == before.uidvalidity + 1000
    assert state.message_count("work", "INBOX") == 5
    state.close()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_and_starttls_with_the_fixture_ca(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path,
                                              password_env: str, security: str) -> None:
    """The same pass works over implicit TLS and STARTTLS, verifying the server against ca_file."""
    seed(dovecot, mail_user, inbox=2, sent=1)
    config = config_for(account_for(dovecot, mail_user, security=security, host="localhost"), tmp_path)
    state = StateStore(config.state.path)
    result = run_once(config, state, clock=lambda: NOW, connect=CountingConnect(password_env))
    assert result[0].error is None
    assert state.message_count("work") == 3
    state.close()


def cli(config_path: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "daemon"), "INTROD_TEST_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", "introd", *args, "--config", str(config_path)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def write_config(tmp_path: Path, server: DovecotServer, user: MailUser, *, security: str, host: str,
                 port: int, ca_file: str) -> Path:
    text = f"""
[state]
path = "{tmp_path / 'state.db'}"
[[accounts]]
name = "work"
host = "{host}"
port = {port}
security = "{security}"
username = "{user.username}"
password_env = "INTROD_TEST_PASSWORD"
ca_file = "{ca_file}"
addresses = ["{user.email}"]
"""
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_cli_run_once_and_status(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path) -> None:
    """`introd run --once` over TLS exits 0 and `status` reports the account and what was indexed."""
    seed(dovecot, mail_user, inbox=3, sent=1)
    path = write_config(tmp_path, dovecot, mail_user, security="tls", host="localhost",
                        port=dovecot.tls_port, ca_file=dovecot.ca_file)
    done = cli(path, "run", "--once", password=mail_user.password)
    assert done.returncode == 0, done.stderr
    assert "INBOX" in done.stderr and "3 new" in done.stderr
    status = cli(path, "status", "--json", password=mail_user.password)
    assert status.returncode == 0
    assert '"messages_indexed": 4' in status.stdout
    assert '"connected": true' in status.stdout
    assert mail_user.password not in done.stderr + status.stdout
    connect = cli(path, "check-config", "--connect", password=mail_user.password)
    assert connect.returncode == 0, connect.stderr
    assert "IDLE yes" in connect.stdout and "drafts Drafts" in connect.stdout


@pytest.mark.parametrize(
    ("case", "exit_code", "needle"),
    [
        ("wrong-ca", 3, "certificate verify failed"),
        ("wrong-host", 3, "certificate"),
        ("wrong-password", 4, "rejected"),
        ("refused", 5, "refused"),
    ],
)
def test_cli_failures_are_one_clear_line(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path,
                                         case: str, exit_code: int, needle: str) -> None:
    """TLS, login and connection failures each print one line with the documented exit code and no secret."""
    host, port, ca, password = "localhost", dovecot.tls_port, dovecot.ca_file, mail_user.password
    if case == "wrong-ca":
        ca = dovecot.other_ca_file
    elif case == "wrong-host":
        host = dovecot.alt_host
    elif case == "wrong-password":
        password = "not-the-password-xyz"
    elif case == "refused":
        port = _closed_port()
    path = write_config(tmp_path, dovecot, mail_user, security="tls", host=host, port=port, ca_file=ca)
    done = cli(path, "run", "--once", password=password)
    assert done.returncode == exit_code, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors and needle in errors[-1].lower()
    assert "Traceback" not in done.stderr
    assert password not in done.stderr
    status = cli(path, "status", "--json", password=password)
    assert '"connected": false' in status.stdout
    assert password not in status.stdout


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
