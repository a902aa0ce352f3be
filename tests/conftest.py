"""Session fixtures: one throw-away Dovecot and one aiosmtpd per test session, a fresh mail user per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.dovecot import DovecotServer, MailUser, dovecot_available
from tests.servers.smtp import SmtpServer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def running_dovecot() -> Iterator[DovecotServer]:
    """Start a throw-away Dovecot, yield it, stop it; a missing Dovecot fails under CI and skips elsewhere."""
    if not dovecot_available():
        message = "Dovecot is not installed (apt-get install dovecot-core dovecot-imapd, or run `make test`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A running Dovecot on loopback for the whole session."""
    yield from running_dovecot()


@pytest.fixture
def mail_user(dovecot: DovecotServer) -> MailUser:
    """A fresh mailbox user for this test only."""
    return dovecot.new_user()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """A running aiosmtpd with STARTTLS, implicit TLS and AUTH on loopback."""
    server = SmtpServer(Path(tmp_path_factory.mktemp("smtp")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session SMTP server with an empty mailbag."""
    smtp_server.bag.clear()
    return smtp_server
