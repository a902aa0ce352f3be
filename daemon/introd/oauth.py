"""OAuth2 for IMAP: the access token from a command, and the SASL strings for XOAUTH2 and OAUTHBEARER.

Tokens expire (Gmail and Microsoft 365: about an hour), so the token command (``oama access USER``,
``mutt_oauth2.py TOKENFILE``) runs afresh before every login and reconnect; it refreshes as needed.
"""

from __future__ import annotations

from introd.config import AccountConfig
from introd.credentials import Secret, run_secret_command
from introd.errors import CredentialError
from introd.logs import register_secret

MECHANISMS = {"xoauth2": "XOAUTH2", "oauthbearer": "OAUTHBEARER"}


def xoauth2_string(user: str, token: str) -> bytes:
    """The XOAUTH2 initial response (Google's and Microsoft's documented format), before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def _saslname(value: str) -> str:
    """RFC 5801 saslname: ``=`` and ``,`` escaped as ``=3D`` and ``=2C``."""
    return value.replace("=", "=3D").replace(",", "=2C")


def oauthbearer_string(user: str, token: str, host: str, port: int) -> bytes:
    """The OAUTHBEARER initial client response of RFC 7628 section 3.1, before base64."""
    return f"n,a={_saslname(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def sasl_response(account: AccountConfig, token: str) -> tuple[str, bytes]:
    """(mechanism, initial response) for the account's ``auth`` setting."""
    mech = MECHANISMS.get(account.auth)
    if mech is None:
        raise CredentialError(f"account {account.name!r}: auth = {account.auth!r} is not an OAuth2 mechanism")
    if mech == "XOAUTH2":
        return mech, xoauth2_string(account.username, token)
    return mech, oauthbearer_string(account.username, token, account.host, account.port)


def get_token(account: AccountConfig) -> Secret:
    """A fresh access token from ``oauth_token_command`` (registered for log redaction)."""
    if not account.oauth_token_command:
        raise CredentialError(f"account {account.name!r}: auth = {account.auth!r} needs oauth_token_command")
    token = run_secret_command(account.name, "oauth_token_command", account.oauth_token_command).strip()
    if not token:
        raise CredentialError(f"account {account.name!r}: oauth_token_command printed nothing")
    register_secret(token)
    return Secret(token)


def get_secret(account: AccountConfig) -> Secret:
    """What the login needs: the OAuth2 access token or the password."""
    if account.auth == "password":
        from introd.credentials import get_password

        return get_password(account)
    return get_token(account)
