"""A real SMTP server for tests: aiosmtpd on loopback with STARTTLS, implicit TLS and AUTH."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.dovecot import free_port

SMTP_USER = "digest@example.test"
SMTP_PASSWORD = "smtp-secret-pw-8c1f"


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern email policy."""
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Mailbag:
    """What the server received, shared by every connection; thread-safe."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def clear(self) -> None:
        """Forget everything received so far."""
        with self.lock:
            self.messages.clear()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER
          and auth_data.password.decode() == SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """Two aiosmtpd listeners on loopback: STARTTLS (port) and implicit TLS (tls_port), both with AUTH."""

    host = "127.0.0.1"
    tls_host = "localhost"
    user = SMTP_USER
    password = SMTP_PASSWORD

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("localhost")
        self.ca_file = str(directory / "smtp-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_ctx)
        self.bag = Mailbag()
        self.port = free_port()
        self.tls_port = free_port()
        self._starttls = Controller(self.bag, hostname=self.host, port=self.port, tls_context=server_ctx,
                                    require_starttls=True, authenticator=_authenticator, auth_require_tls=True)
        # aiosmtpd only counts STARTTLS as "TLS" for AUTH; this listener is TLS from the first byte.
        self._implicit = Controller(self.bag, hostname=self.host, port=self.tls_port,
                                    server_hostname="localhost", ssl_context=server_ctx,
                                    authenticator=_authenticator, auth_require_tls=False)

    @property
    def messages(self) -> list[Received]:
        """Messages accepted so far."""
        with self.bag.lock:
            return list(self.bag.messages)

    def start(self) -> None:
        """Start both listeners."""
        self._starttls.start()
        self._implicit.start()

    def stop(self) -> None:
        """Stop both listeners."""
        self._starttls.stop()
        self._implicit.stop()
