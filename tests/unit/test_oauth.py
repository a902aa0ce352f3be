"""OAuth2 for IMAP: the XOAUTH2 and OAUTHBEARER strings, and the token command."""

from __future__ import annotations

import pytest

from introd.config import AccountConfig
from introd.errors import CredentialError
from introd.logs import redact
from introd.oauth import get_secret, get_token, oauthbearer_string, sasl_response, xoauth2_string


def account(**kw: object) -> AccountConfig:
    base: dict[str, object] = {"name": "gmail", "addresses": ("alice@gmail.com",), "host": "imap.gmail.com",
                               "port": 993, "username": "alice@gmail.com", "auth": "xoauth2",
                               "oauth_token_command": "echo ya29.token-value"}
    base.update(kw)
    return AccountConfig(**base)  # type: ignore[arg-type]


def test_xoauth2_string() -> None:
    """XOAUTH2: user=<u>^Aauth=Bearer <t>^A^A (Google's and Microsoft's format)."""
    assert xoauth2_string("alice@gmail.com", "tok") == b"user=alice@gmail.com\x01auth=Bearer tok\x01\x01"


def test_oauthbearer_string_follows_rfc_7628() -> None:
    """OAUTHBEARER: a GS2 header with the escaped authzid, then host, port and the bearer token."""
    assert oauthbearer_string("alice@gmail.com", "tok", "imap.gmail.com", 993) == (
        b"n,a=alice@gmail.com,\x01host=imap.gmail.com\x01port=993\x01auth=Bearer tok\x01\x01")
    assert oauthbearer_string("a=b,c", "t", "h", 1).startswith(b"n,a=a=3Db=2Cc,\x01")


def test_the_account_setting_picks_the_mechanism() -> None:
    """auth = "xoauth2" -> XOAUTH2, "oauthbearer" -> OAUTHBEARER; password is not OAuth."""
    assert sasl_response(account(), "t")[0] == "XOAUTH2"
    assert sasl_response(account(auth="oauthbearer"), "t")[0] == "OAUTHBEARER"
    with pytest.raises(CredentialError):
        sasl_response(account(auth="password"), "t")


def test_the_token_command_runs_every_time_and_its_token_is_redacted() -> None:
    """Each call runs the command afresh (a refreshed token is picked up) and the token never reaches a log."""
    acct = account(oauth_token_command="date +%N")
    assert get_token(acct) != get_token(acct)
    token = get_secret(account())
    assert token == "ya29.token-value" and "token-value" not in repr(token)
    assert "ya29.token-value" not in redact("AUTHENTICATE XOAUTH2 ya29.token-value")


def test_a_failing_token_command_names_itself_but_not_its_output() -> None:
    """A failing command reports its status and last stderr line; stdout (maybe a token) is never shown."""
    with pytest.raises(CredentialError, match="oauth_token_command exited with status 3: no grant") as info:
        get_token(account(oauth_token_command="echo secret-out; echo no grant >&2; exit 3"))
    assert "secret-out" not in str(info.value)
