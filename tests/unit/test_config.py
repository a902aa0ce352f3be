"""Config validation: typed, frozen, and every error names the file, the key path and the expectation."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from introd.config import Config, is_loopback_host, parse_config
from introd.errors import ConfigError

PATH = Path("/etc/introd/config.toml")


def minimal(**account: Any) -> dict[str, Any]:
    acct = {"name": "work", "host": "imap.example.com", "addresses": ["alice@example.com"]}
    acct.update(account)
    return {"accounts": [acct]}


def error_of(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, PATH)
    return info.value


def test_minimal_config_gets_documented_defaults() -> None:
    """A config with one account fills every default documented in config.example.toml."""
    cfg = parse_config(minimal(), PATH)
    acct = cfg.accounts[0]
    assert (acct.port, acct.security, acct.username, acct.watch) == (993, "tls", "alice@example.com", ("INBOX",))
    assert (cfg.timing.owe_reply_days, cfg.timing.nudge_days, cfg.timing.max_nudges) == (2, 5, 2)
    assert (cfg.timing.stalled_days, cfg.timing.followup_days, cfg.timing.business_days) == (7, 21, False)
    assert cfg.drafts.max_per_pass == 20
    assert cfg.reminders.folder == "Intros/Reminders"


def test_config_is_frozen() -> None:
    """Config objects cannot be changed after validation."""
    cfg = parse_config(minimal(), PATH)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.accounts[0].host = "evil.example.com"  # type: ignore[misc]


def test_starttls_defaults_to_port_143() -> None:
    """security = starttls without a port means port 143."""
    assert parse_config(minimal(security="starttls"), PATH).accounts[0].port == 143


def test_several_accounts() -> None:
    """Several [[accounts]] tables are kept in order."""
    data = minimal()
    data["accounts"].append({"name": "home", "host": "mail.example.org", "addresses": ["a@example.org"]})
    cfg = parse_config(data, PATH)
    assert [a.name for a in cfg.accounts] == ["work", "home"]
    assert cfg.account("home").host == "mail.example.org"


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        ({}, "accounts", "missing; expected an array"),
        ({"accounts": []}, "accounts", "at least one"),
        ({"accounts": ["x"]}, "accounts[0]", "expected a table"),
        (minimal(port="993"), "accounts[0].port", "expected an integer, got string '993'"),
        (minimal(port=0), "accounts[0].port", "from 1 to 65535"),
        (minimal(port=True), "accounts[0].port", "expected an integer, got boolean"),
        (minimal(security="ssl"), "accounts[0].security", "expected one of tls, starttls, plain"),
        (minimal(addresses=[]), "accounts[0].addresses", "at least one entry"),
        (minimal(addresses=["alice"]), "accounts[0].addresses[0]", "expected an email address"),
        (minimal(addresses="alice@example.com"), "accounts[0].addresses", "expected an array"),
        (minimal(host=""), "accounts[0].host", "missing"),
        (minimal(colour="blue"), "accounts[0].colour", "unknown key"),
        (minimal(password="hunter2"), "accounts[0].password", "secrets never go in the config file"),
        (minimal(security="plain"), "accounts[0].security", "allowed only for a loopback host"),
        (minimal(password_env="A", password_command="b"), "accounts[0].password_command", "either"),
        (minimal(ca_file="/nonexistent/ca.pem"), "accounts[0].ca_file", "does not exist"),
        (minimal(backend="maildir"), "accounts[0].maildir", "missing"),
        ({**minimal(), "timing": {"nudge_days": -1}}, "timing.nudge_days", "from 1 to 365"),
        ({**minimal(), "timing": {"timezone": "Mars/Olympus"}}, "timing.timezone", "IANA time zone"),
        ({**minimal(), "timing": {"business_days": "yes"}}, "timing.business_days", "true or false"),
        ({**minimal(), "drafts": {"max_per_pass": 5000}}, "drafts.max_per_pass", "from 0 to 1000"),
        ({**minimal(), "state": {"path": 3}}, "state.path", "expected a string"),
        ({**minimal(), "state": "x"}, "state", "expected a table"),
        ({**minimal(), "stat": {}}, "stat", "unknown key"),
    ],
)
def test_bad_config_names_file_key_and_expectation(data: dict[str, Any], key: str, expected: str) -> None:
    """Each kind of bad config raises one ConfigError naming the file, the key path and what was expected."""
    err = error_of(data)
    assert err.path == str(PATH)
    assert err.key == key
    assert expected in err.problem
    assert str(err).startswith(f"{PATH}: {key}: ")


def test_duplicate_account_names_are_refused() -> None:
    """Two accounts with one name are an error on the second."""
    data = minimal()
    data["accounts"].append(dict(data["accounts"][0]))
    assert error_of(data).key == "accounts[1].name"


def test_plain_is_allowed_on_loopback() -> None:
    """security = plain is accepted for 127.0.0.1, ::1 and localhost."""
    for host in ("127.0.0.1", "::1", "localhost"):
        cfg = parse_config(minimal(security="plain", host=host), PATH)
        assert cfg.accounts[0].security == "plain"


def test_is_loopback_host() -> None:
    """Only loopback names and addresses count as loopback."""
    assert is_loopback_host("127.0.0.2")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("10.0.0.1")
    assert not is_loopback_host("imap.example.com")


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    """A relative maildir or ca_file is resolved against the config file's directory."""
    (tmp_path / "ca.pem").write_text("x")
    data = minimal(backend="maildir", maildir="mail", ca_file="ca.pem")
    cfg: Config = parse_config(data, tmp_path / "config.toml")
    assert cfg.accounts[0].maildir == str(tmp_path / "mail")
    assert cfg.accounts[0].ca_file == str(tmp_path / "ca.pem")


def test_unknown_account_lookup_lists_names() -> None:
    """Config.account names the accounts that exist when asked for one that does not."""
    with pytest.raises(ConfigError, match="have: work"):
        parse_config(minimal(), PATH).account("nope")
