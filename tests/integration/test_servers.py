"""The test servers themselves work: Dovecot speaks IMAP with SPECIAL-USE and TLS, aiosmtpd takes AUTH."""

from __future__ import annotations

import asyncio
import socket
import ssl
from email.message import EmailMessage

import aiosmtplib
import imapclient
import pytest
from tests.servers.dovecot import DovecotServer, MailUser, imap_client
from tests.servers.smtp import SmtpServer


def test_dovecot_greets_and_offers_the_capabilities_introd_uses(dovecot: DovecotServer, mail_user: MailUser) -> None:
    """A fresh user logs in and sees IDLE, CONDSTORE, SPECIAL-USE and the Drafts/Sent folders."""
    client = imap_client(dovecot, mail_user)
    try:
        caps = {c.decode() for c in client.capabilities()}
        assert {"IDLE", "CONDSTORE", "SPECIAL-USE", "UIDPLUS"} <= caps
        flags = {name: set(f) for f, _, name in client.list_folders()}
        assert b"\\Drafts" in flags["Drafts"] and b"\\Sent" in flags["Sent"]
    finally:
        client.logout()


def test_dovecot_implicit_tls_verifies_against_the_fixture_ca(dovecot: DovecotServer, mail_user: MailUser) -> None:
    """Implicit TLS to "localhost" verifies with the fixture CA and fails with another CA."""
    good = ssl.create_default_context(cafile=dovecot.ca_file)
    client = imapclient.IMAPClient(dovecot.tls_host, dovecot.tls_port, ssl=True, ssl_context=good, timeout=10)
    client.login(mail_user.username, mail_user.password)
    client.logout()
    bad = ssl.create_default_context(cafile=dovecot.other_ca_file)
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(dovecot.tls_host, dovecot.tls_port, ssl=True, ssl_context=bad, timeout=10)


def test_each_test_gets_its_own_empty_mailbox(dovecot: DovecotServer) -> None:
    """Two new users do not see each other's mail."""
    a, b = dovecot.new_user(), dovecot.new_user()
    ca = imap_client(dovecot, a)
    ca.append("INBOX", b"From: x@example.test\r\nSubject: only a\r\n\r\nhi\r\n")
    ca.logout()
    cb = imap_client(dovecot, b)
    try:
        assert cb.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
    finally:
        cb.logout()


def test_smtp_accepts_mail_over_starttls_and_implicit_tls_with_auth(smtp: SmtpServer) -> None:
    """aiosmtplib delivers over STARTTLS and over implicit TLS after AUTH; the fixture records both."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.user, "alice@example.test", "fixture check"
    msg.set_content("hello")
    ctx = ssl.create_default_context(cafile=smtp.ca_file)

    async def send() -> None:
        await aiosmtplib.send(msg, hostname=smtp.tls_host, port=smtp.port, start_tls=True, tls_context=ctx,
                              username=smtp.user, password=smtp.password, timeout=10)
        await aiosmtplib.send(msg, hostname=smtp.tls_host, port=smtp.tls_port, use_tls=True, tls_context=ctx,
                              username=smtp.user, password=smtp.password, timeout=10)

    asyncio.run(send())
    assert [m.rcpt_tos for m in smtp.messages] == [["alice@example.test"], ["alice@example.test"]]
    assert smtp.messages[0].message["Subject"] == "fixture check"


def test_smtp_refuses_a_wrong_password(smtp: SmtpServer) -> None:
    """AUTH with a wrong password is refused and nothing is delivered."""
    ctx = ssl.create_default_context(cafile=smtp.ca_file)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.user, "alice@example.test", "nope"
    msg.set_content("x")
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        asyncio.run(aiosmtplib.send(msg, hostname=smtp.tls_host, port=smtp.tls_port, use_tls=True,
                                    tls_context=ctx, username=smtp.user, password="wrong", timeout=10))
    assert smtp.messages == []
    assert socket.gethostbyname(smtp.tls_host).startswith("127.")
