"""Credential sources: environment, command, systemd credential and keyring, and no secret ever leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from introd.config import AccountConfig
from introd.credentials import Secret, describe_source, get_password
from introd.errors import CredentialError

SECRET = "correct-horse-battery-staple"


def account(**kw: object) -> AccountConfig:
    base: dict[str, object] = {"name": "work", "addresses": ("alice@example.com",), "host": "imap.example.com"}
    base.update(kw)
    return AccountConfig(**base)  # type: ignore[arg-type]


def test_env_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """password_env reads the named variable."""
    monkeypatch.setenv("INTROD_TEST_PW", SECRET)
    assert get_password(account(password_env="INTROD_TEST_PW")) == SECRET


def test_env_missing_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing variable is a CredentialError naming the variable."""
    monkeypatch.delenv("INTROD_TEST_PW", raising=False)
    with pytest.raises(CredentialError, match="INTROD_TEST_PW is not set"):
        get_password(account(password_env="INTROD_TEST_PW"))


def test_command_source_uses_first_line() -> None:
    """password_command's first output line is the secret (as mbsync's PassCmd)."""
    acct = account(password_command=f"printf '{SECRET}\\nsecond line\\n'")
    assert get_password(acct) == SECRET


def test_failing_command_never_shows_its_output() -> None:
    """A failing password_command reports its status and stderr, never its stdout."""
    acct = account(password_command=f"echo {SECRET}; echo 'gpg: decryption failed' >&2; exit 3")
    with pytest.raises(CredentialError) as info:
        get_password(acct)
    assert "exited with status 3" in str(info.value)
    assert "decryption failed" in str(info.value)
    assert SECRET not in str(info.value)


def test_systemd_credential(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$CREDENTIALS_DIRECTORY/<account name> is used when no other source is configured."""
    (tmp_path / "work").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert get_password(account()) == SECRET
    assert "systemd credential work" in describe_source(account())


def test_named_systemd_credential_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An explicitly named credential that is absent is an error naming it."""
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    with pytest.raises(CredentialError, match="'imap-pass' not found"):
        get_password(account(credential="imap-pass"))


def test_keyring_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing else configured the keyring entry (service introd, user = account name) is used."""
    import keyring

    seen: list[tuple[str, str]] = []

    def fake_get(service: str, user: str) -> str:
        seen.append((service, user))
        return SECRET

    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setattr(keyring, "get_password", fake_get)
    assert get_password(account()) == SECRET
    assert seen == [("introd", "work")]


def test_no_source_explains_every_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no source answering, the error lists how to provide a password."""
    import keyring

    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setattr(keyring, "get_password", lambda s, u: None)
    with pytest.raises(CredentialError, match="introd set-password work"):
        get_password(account())


def test_secret_repr_hides_value() -> None:
    """repr() of a Secret (as in tracebacks and %r) never shows the value."""
    assert SECRET not in repr(Secret(SECRET))
    assert SECRET not in f"{Secret(SECRET)!r}"
