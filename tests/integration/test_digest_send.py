"""The weekly digest end to end: seed mailboxes in Dovecot, a pass, then `send_due_digest` to the real aiosmtpd."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.integration.test_act import SCENARIOS, folder_messages, load_scenario, parsed
from tests.servers.dovecot import DovecotServer, MailUser, free_port, imap_client
from tests.servers.smtp import SmtpServer

from introd.cli import main
from introd.commands import digest_line, status_data
from introd.config import AccountConfig, Config, DigestConfig, SmtpConfig, StateConfig
from introd.digest_run import FILED, NOT_DUE, SENT, DigestOutcome, digest_key, send_due_digest
from introd.mailstore.base import MailStore
from introd.mailstore.imap import ImapStore
from introd.runner import run_once
from introd.store import StateStore

PW_ENV = "INTROD_TEST_SMTP_PASSWORD"
IMAP_PW_ENV = "INTROD_TEST_IMAP_PASSWORD"
REMINDERS = "Intros/Reminders"
OWE = "seed000-kathy-mary-steven-as-mary"
# Seed situation -> the section its intro must be listed in.
SEEDS = {
    OWE: "You owe a reply",
    "seed003-tim-as-requester-waiting": "Waiting on others",
    "seed001-introducer-did-not-ask": "Made without an opt-in",
    "introducer-stalled": "Stalled",
    "introducer-followup-due": "Ready for a \u201chow did it go?\u201d",
    "seed004-salesy-pitch-unanswered-dead": "Time to move on",
}
TITLES = set(SEEDS.values())


@dataclass
class Setup:
    """One seed mailbox in Dovecot, a state file after one pass, and a config pointing at the SMTP fixture."""

    dovecot: DovecotServer
    user: MailUser
    smtp: SmtpServer
    config: Config
    state: StateStore
    now: datetime
    sleeps: list[float]
    scenario: str

    @property
    def account(self) -> AccountConfig:
        return self.config.accounts[0]

    def connect(self, account: AccountConfig) -> MailStore:
        return ImapStore.connect(account, self.user.password)

    def send(self, now: datetime | None = None, *, state: StateStore | None = None,
             force: bool = False) -> DigestOutcome:
        return send_due_digest(self.config, state or self.state, self.account, now or self.now, force=force,
                               connect_store=self.connect, sleep=self.sleeps.append)

    def with_smtp(self, **changes: object) -> None:
        self.config = dataclasses.replace(self.config, smtp=dataclasses.replace(self.config.smtp, **changes))

    def filed(self) -> list[EmailMessage]:
        client = imap_client(self.dovecot, self.user)
        try:
            msgs = [parsed(raw) for raw, _f in folder_messages(client, REMINDERS).values()]
        finally:
            client.logout()
        return [m for m in msgs if str(m["X-Introd-Action"] or "").startswith("digest")]


@pytest.fixture
def setup(request: pytest.FixtureRequest, dovecot: DovecotServer, mail_user: MailUser, smtp: SmtpServer,
          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """A seed scenario (the test's parameter, else the reply-owed one) after one pass, SMTP over implicit TLS."""
    name = getattr(request, "param", OWE)
    scenario = SCENARIOS[name]
    load_scenario(dovecot, mail_user, scenario)
    monkeypatch.setenv(PW_ENV, smtp.password)
    monkeypatch.setenv(IMAP_PW_ENV, mail_user.password)
    account = AccountConfig(name="work", addresses=(scenario.user, "me@home.example"),
                            display_name=scenario.user_name, host=dovecot.host, port=dovecot.port, security="plain",
                            username=mail_user.username, password_env=IMAP_PW_ENV, timeout=30)
    config = Config(
        path=tmp_path / "config.toml", state=StateConfig(tmp_path / "state.db"), accounts=(account,),
        timing=scenario.timing, digest=DigestConfig(timezone="UTC"),
        smtp=SmtpConfig(host=smtp.tls_host, port=smtp.tls_port, security="tls", username=smtp.user,
                        password_env=PW_ENV, ca_file=smtp.ca_file, timeout=10),
    )
    state = StateStore(config.state.path)
    password = mail_user.password
    (result,) = run_once(config, state, clock=lambda: scenario.now,
                         connect=lambda a: ImapStore.connect(a, password))
    assert result.error is None, result.error
    yield Setup(dovecot, mail_user, smtp, config, state, scenario.now, [], name)
    state.close()


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in ("href", "src", "action", "background")]


def check_received(setup: Setup, section: str) -> tuple[str, str]:
    """The one message the server got: envelope and headers from/to the user only, valid alternative parts."""
    (received,) = setup.smtp.messages
    user = setup.account.addresses[0]
    assert received.mail_from == user and received.rcpt_tos == [user]
    msg = received.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert {a.addr_spec for a in msg["From"].addresses} == {user}
    assert {a.addr_spec for a in msg["To"].addresses} == {user}
    assert msg["Cc"] is None and msg["Bcc"] is None
    assert str(msg["X-Introd-Action"]).startswith("digest; period=")
    plain, page = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and page is not None
    text, html = plain.get_content(), page.get_content()
    urls = _Urls()
    urls.feed(html)
    assert all(u == f"mailto:{user}" for u in urls.urls)  # nothing but the user's own mailbox
    assert "open intro" in text and "response rate" in text and "waiting on others" in text
    titles = {t for t in TITLES if t in text}
    assert titles == {section}, titles
    assert section.replace("\u201c", "&ldquo;") in html or section in html
    return text, html


@pytest.mark.parametrize("setup", list(SEEDS), indirect=True)
def test_seed_digest_has_the_intro_in_the_right_section(setup: Setup) -> None:
    """Each seed situation's digest reaches the SMTP server (TLS + AUTH) with its intro in the right section."""
    outcome = setup.send()
    assert outcome.status == SENT, outcome
    text, html = check_received(setup, SEEDS[setup.scenario])
    subject = _intro_subject(setup)
    assert subject in text and subject.replace("<", "&lt;").replace(">", "&gt;") in html
    assert "Next step:" in text and "Draft:" in text and "last message" in text


def _intro_subject(setup: Setup) -> str:
    (row,) = [r for r in setup.state.intros("work") if r["due"] != "[]"]
    return " ".join(str(row["subject"]).split())


def test_starttls_and_draft_ready(setup: Setup) -> None:
    """Over STARTTLS too; the reply owed shows that its draft is ready in Drafts."""
    setup.with_smtp(host="localhost", port=setup.smtp.port, security="starttls")  # "localhost": the cert's name
    assert setup.send().status == SENT
    text, _html = check_received(setup, "You owe a reply")
    assert "Draft: ready in Drafts" in text


def test_restart_at_the_scheduled_minute_sends_once(setup: Setup) -> None:
    """Two runs at the same minute (the second with a fresh state connection, as after a restart): one digest."""
    first = setup.send()
    restarted = StateStore(setup.config.state.path)
    try:
        second = setup.send(state=restarted)
        third = setup.send(setup.now + timedelta(hours=30), state=restarted)
    finally:
        restarted.close()
    assert first.status == SENT and second.status == NOT_DUE and third.status == NOT_DUE
    assert len(setup.smtp.messages) == 1


def test_interrupted_send_is_filed_not_mailed_again(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop after the ledger entry but before SMTP finished: the restart files the digest, mails nothing."""
    from introd import smtp as smtp_module

    def die(*_a: object, **_k: object) -> int:
        raise KeyboardInterrupt  # the process stops mid-send

    monkeypatch.setattr(smtp_module, "send", die)
    with pytest.raises(KeyboardInterrupt):
        setup.send()
    monkeypatch.undo()
    outcome = setup.send()
    assert outcome.status == FILED and "interrupted" in (outcome.error or "")
    assert setup.smtp.messages == [] and len(setup.filed()) == 1
    assert setup.send().status == NOT_DUE and len(setup.filed()) == 1


def test_a_week_of_downtime_sends_one(setup: Setup) -> None:
    """Down for more than a week after one digest: back up, exactly one catch-up, then quiet until the next slot."""
    assert setup.send().status == SENT
    back = setup.now + timedelta(days=9, hours=5)
    outcomes = [setup.send(back + timedelta(minutes=m)) for m in range(0, 180, 30)]
    assert [o.status for o in outcomes].count(SENT) == 1
    assert len(setup.smtp.messages) == 2
    periods = {str(m.message["X-Introd-Action"]) for m in setup.smtp.messages}
    assert len(periods) == 2


def test_smtp_unreachable_files_in_reminders(setup: Setup) -> None:
    """Nobody listens on the SMTP port: retries with backoff, then the digest is filed and `status` says so."""
    setup.with_smtp(port=free_port())
    outcome = setup.send()
    assert outcome.status == FILED and outcome.folder == REMINDERS
    assert len(setup.sleeps) == 2 and setup.sleeps[0] < setup.sleeps[1]  # three tries, growing waits
    (filed,) = setup.filed()
    plain = filed.get_body(("plain",))
    assert plain is not None and "could not send this digest" in plain.get_content()
    entry = setup.state.ledger_get("work", digest_key("work", outcome.period or ""))
    assert entry is not None and entry.status == FILED and entry.raw is None
    (acct,) = status_data(setup.config, setup.state)["accounts"]
    assert acct["last_digest"]["status"] == FILED
    assert f"filed in {REMINDERS}" in digest_line(acct["last_digest"])
    assert setup.send().status == NOT_DUE and len(setup.filed()) == 1


def test_rejected_login_falls_back_to_account_credentials_and_files_without_retrying(setup: Setup) -> None:
    """Without SMTP credentials the account's are used; a rejected AUTH is not retried, the digest is filed."""
    setup.with_smtp(username="", password_env=None)
    outcome = setup.send()
    assert outcome.status == FILED and "rejected the login" in (outcome.error or "")
    assert setup.sleeps == [] and setup.smtp.messages == []
    assert setup.user.password not in (outcome.error or "")


def test_unverified_certificate_is_refused(setup: Setup) -> None:
    """Without the fixture's CA the server's certificate does not verify: nothing is sent, the digest is filed."""
    setup.with_smtp(ca_file=None)
    outcome = setup.send()
    assert outcome.status == FILED and "certificate" in (outcome.error or "")
    assert setup.smtp.messages == []


def test_digest_to_several_own_addresses(setup: Setup) -> None:
    """[digest] to lists only own addresses; the envelope and To carry exactly those."""
    setup.config = dataclasses.replace(setup.config, digest=DigestConfig(
        timezone="UTC", to=(setup.account.addresses[0], "me@home.example")))
    assert setup.send().status == SENT
    (received,) = setup.smtp.messages
    assert sorted(received.rcpt_tos) == sorted(setup.account.addresses)


def test_cli_print_and_send(setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`introd digest --print` prints the text digest; `--send --html FILE` mails it and writes the HTML."""
    acct, smtp = setup.account, setup.config.smtp
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[state]\npath = "{setup.config.state.path}"\n\n[[accounts]]\nname = "work"\n'
        f'addresses = ["{acct.addresses[0]}"]\nhost = "{acct.host}"\nport = {acct.port}\nsecurity = "plain"\n'
        f'username = "{acct.username}"\npassword_env = "{IMAP_PW_ENV}"\n\n[digest]\ntimezone = "UTC"\n\n'
        f'[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nusername = "{smtp.username}"\n'
        f'password_env = "{PW_ENV}"\nca_file = "{smtp.ca_file}"\n')
    now = setup.now.isoformat()
    assert main(["digest", "-c", str(config), "--now", now]) == 0
    out = capsys.readouterr().out
    assert "You owe a reply (1)" in out and "open intro" in out
    html = tmp_path / "digest.html"
    assert main(["-q", "digest", "-c", str(config), "--send", "--html", str(html), "--now", now]) == 0
    assert "sent to" in capsys.readouterr().out
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert len(setup.smtp.messages) == 1
    assert main(["status", "-c", str(config)]) == 0
    assert "last digest: " in capsys.readouterr().out
