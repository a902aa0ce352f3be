"""Where an account's password comes from: env, command, systemd credential or keyring.

The secret never lives in the config file; every source is tried in a fixed order and
the first one configured wins. Errors name the source, never the secret.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from introd.config import AccountConfig
from introd.errors import CredentialError
from introd.logs import register_secret

KEYRING_SERVICE = "introd"
COMMAND_TIMEOUT = 60.0


class Secret(str):
    """A string whose repr never shows its value (so it cannot leak through tracebacks or %r)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


def _from_env(account: AccountConfig) -> str | None:
    if not account.password_env:
        return None
    value = os.environ.get(account.password_env)
    if not value:
        raise CredentialError(
            f"account {account.name!r}: environment variable {account.password_env} is not set or empty"
        )
    return value


def run_secret_command(account: str, key: str, command: str) -> str:
    """Run ``command`` through /bin/sh and return the first line of its output (stdout is never shown)."""
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CredentialError(
            f"account {account!r}: {key} did not finish within {COMMAND_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        # stderr may be useful ("gpg: decryption failed") but stdout may hold a secret: never show it.
        hint = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise CredentialError(
            f"account {account!r}: {key} exited with status {done.returncode}"
            + (f": {hint[0][:200]}" if hint[0] else "")
        )
    value = done.stdout.decode("utf-8", "replace").split("\n", 1)[0].rstrip("\r")
    if not value:
        raise CredentialError(f"account {account!r}: {key} printed nothing")
    return value


def _from_command(account: AccountConfig) -> str | None:
    if not account.password_command:
        return None
    return run_secret_command(account.name, "password_command", account.password_command)


def _from_systemd(account: AccountConfig) -> str | None:
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / (account.credential or account.name)
    if not path.is_file():
        if account.credential:
            raise CredentialError(f"account {account.name!r}: systemd credential {path.name!r} not found")
        return None
    value = path.read_text(encoding="utf-8").split("\n", 1)[0].rstrip("\r")
    return value or None


def _from_keyring(account: AccountConfig) -> str | None:
    try:
        import keyring
        import keyring.errors
    except ImportError:  # pragma: no cover - keyring is a hard dependency
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, account.name)
    except keyring.errors.KeyringError as exc:
        raise CredentialError(f"account {account.name!r}: keyring unavailable ({type(exc).__name__})") from None


# Tried in this order; the first source that is configured and answers wins.
SOURCES: tuple[tuple[str, Callable[[AccountConfig], str | None]], ...] = (
    ("password_env", _from_env),
    ("password_command", _from_command),
    ("systemd credential", _from_systemd),
    ("keyring", _from_keyring),
)


def get_password(account: AccountConfig) -> Secret:
    """Return the account's password from the first configured source, registered for log redaction."""
    for _name, source in SOURCES:
        value = source(account)
        if value:
            register_secret(value)
            return Secret(value)
    raise CredentialError(
        f"account {account.name!r}: no password found; set password_env or password_command in the config, "
        f"provide a systemd credential, or run `introd set-password {account.name}`"
    )


def describe_source(account: AccountConfig) -> str:
    """Which source get_password would use, for `status` and `check-config` (never the value)."""
    if account.auth != "password":
        return f"oauth_token_command ({account.auth.upper()} access token)"
    if account.password_env:
        return f"environment variable {account.password_env}"
    if account.password_command:
        return "password_command"
    if os.environ.get("CREDENTIALS_DIRECTORY"):
        return f"systemd credential {account.credential or account.name} (else keyring)"
    return "keyring"


def store_in_keyring(account: AccountConfig, password: str) -> None:
    """Save a password for ``account`` in the system keyring (`introd set-password`)."""
    import keyring
    import keyring.errors

    try:
        keyring.set_password(KEYRING_SERVICE, account.name, password)
    except keyring.errors.KeyringError as exc:
        raise CredentialError(
            f"account {account.name!r}: cannot store the password in the keyring ({type(exc).__name__}); "
            "on a headless server use password_command or a systemd credential instead"
        ) from None
