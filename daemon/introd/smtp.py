"""Send one message over SMTP with aiosmtplib: implicit TLS or STARTTLS, certificates always verified, AUTH.

Errors become introd's classes: TLSError (certificate or host name), AuthenticationError (535 and friends),
TransientError (unreachable, dropped, timed out, 4xx: worth retrying), DeliveryError (5xx: retrying will not
help). ``send`` retries only transient errors, with backoff. Secrets are never logged: passwords and tokens
are registered for redaction when read, and only exception texts from aiosmtplib (which never contain the
AUTH payload) are shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosmtplib

from introd.backoff import Backoff
from introd.config import AccountConfig, SmtpConfig
from introd.errors import AuthenticationError, DeliveryError, IntrodError, TLSError, TransientError

log = logging.getLogger(__name__)

ATTEMPTS = 3


@dataclass(frozen=True)
class SmtpLogin:
    """Where and how to log in: the [smtp] settings resolved against one account."""

    host: str
    port: int
    security: str  # tls | starttls
    username: str
    secret: str
    mechanism: str = "password"  # password | xoauth2
    ca_file: str | None = None
    timeout: float = 60.0

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"SmtpLogin({self.username}@{self.host}:{self.port}, {self.security}, {self.mechanism})"


def resolve_login(smtp: SmtpConfig, account: AccountConfig) -> SmtpLogin:
    """The SMTP login for ``account``: [smtp] credentials when given, else the account's password or token."""
    from introd.credentials import get_password

    username = smtp.username or account.username
    if smtp.password_env or smtp.password_command:
        source = dataclasses.replace(account, name=f"{account.name} (smtp)", password_env=smtp.password_env,
                                     password_command=smtp.password_command, credential=None, auth="password")
        secret: str = get_password(source)
        mechanism = "password"
    else:
        from introd.oauth import get_secret

        secret = get_secret(account)
        mechanism = "password" if account.auth == "password" else "xoauth2"
    return SmtpLogin(host=smtp.host, port=smtp.port, security=smtp.security, username=username, secret=secret,
                     mechanism=mechanism, ca_file=smtp.ca_file, timeout=smtp.timeout)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trust store (plus ``ca_file``), with certificate and host name verification."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def map_error(exc: BaseException, where: str) -> IntrodError:
    """An aiosmtplib/OS error as introd's error class (the message names the server, never a secret)."""
    chain = _cause_chain(exc)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        cert = next(e for e in chain if isinstance(e, ssl.SSLCertVerificationError))
        return TLSError(f"{where}: TLS certificate verification failed: {cert.verify_message or cert}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return AuthenticationError(f"{where}: the server rejected the login ({exc.code} {exc.message})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{r.recipient} ({r.code})" for r in exc.recipients)
        permanent = all(r.code >= 500 for r in exc.recipients)
        cls: type[IntrodError] = DeliveryError if permanent else TransientError
        return cls(f"{where}: recipients refused: {refused}")
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
            exc, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPServerDisconnected):
        cls = DeliveryError if exc.code >= 500 else TransientError
        return cls(f"{where}: the server answered {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPException | OSError | asyncio.TimeoutError | ssl.SSLError):
        return TransientError(f"{where}: {exc}")
    return DeliveryError(f"{where}: {type(exc).__name__}: {exc}")


async def send_once(login: SmtpLogin, sender: str, recipients: Sequence[str], raw: bytes) -> None:
    """One SMTP session: connect (TLS or STARTTLS, verified), AUTH, MAIL/RCPT/DATA, QUIT."""
    where = f"SMTP {login.host}:{login.port}"
    client = aiosmtplib.SMTP(hostname=login.host, port=login.port, timeout=login.timeout,
                             use_tls=login.security == "tls", start_tls=login.security == "starttls",
                             tls_context=tls_context(login.ca_file), validate_certs=True)
    try:
        async with client:
            if login.mechanism == "xoauth2":
                await client.auth_xoauth2(login.username, login.secret)
            else:
                await client.login(login.username, login.secret)
            await client.sendmail(sender, list(recipients), raw)
    except IntrodError:
        raise
    except Exception as exc:
        raise map_error(exc, where) from exc


def send(login: SmtpLogin, sender: str, recipients: Sequence[str], raw: bytes, *, attempts: int = ATTEMPTS,
         backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Send ``raw``, retrying transient failures with backoff; returns the attempts used (blocking).

    Call it from a thread without a running event loop (the service's worker threads are). Raises the last
    error once ``attempts`` are used up, or at once for TLS, authentication and permanent errors.
    """
    delays = backoff or Backoff(base=2.0, factor=4.0, cap=120.0)
    for attempt in range(1, attempts + 1):
        try:
            asyncio.run(send_once(login, sender, recipients, raw))
            return attempt
        except TransientError as exc:
            if attempt == attempts:
                raise
            delay = delays.next_delay()
            log.warning("%s (attempt %d of %d; retrying in %.0f s)", exc, attempt, attempts, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
