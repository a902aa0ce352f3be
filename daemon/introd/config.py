"""TOML -> frozen dataclasses, validated once; every error names the file and key path."""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
import sys
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from introd.errors import ConfigError
from introd.intros import Timing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SECURITY_MODES = ("tls", "starttls", "plain")
AUTH_MODES = ("password", "xoauth2", "oauthbearer")
SMTP_SECURITY_MODES = ("tls", "starttls")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
T = TypeVar("T")


@dataclass(frozen=True)
class AccountConfig:
    """One [[accounts]] table: where the mailbox is and who the user is there."""

    name: str
    addresses: tuple[str, ...]
    display_name: str = ""
    backend: str = "imap"  # imap | maildir
    host: str = ""
    port: int = 993
    security: str = "tls"
    username: str = ""
    password_env: str | None = None
    password_command: str | None = None
    credential: str | None = None  # systemd credential name (default: the account name)
    ca_file: str | None = None
    maildir: str | None = None  # path of a local Maildir (backend = "maildir")
    watch: tuple[str, ...] = ("INBOX",)
    timeout: float = 60.0
    auth: str = "password"  # password | xoauth2 | oauthbearer
    oauth_token_command: str | None = None  # prints an OAuth2 access token; run before every login
    poll_interval: int = 60  # seconds between NOOP polls of a folder when the server has no IDLE
    keepalive: int = 300  # end and re-issue IDLE (with a NOOP) at least this often, seconds (RFC 2177: < 29 min)
    max_connections: int = 4  # IMAP connections introd may hold for this account (one worker + watchers)

    @property
    def is_loopback(self) -> bool:
        """True when ``host`` is a loopback name or address (plain IMAP is allowed only there)."""
        return is_loopback_host(self.host)


@dataclass(frozen=True)
class StateConfig:
    """[state]: where the SQLite state lives."""

    path: Path


@dataclass(frozen=True)
class DraftsConfig:
    """[drafts]: limits and templates for the drafts introd writes."""

    max_per_pass: int = 20
    templates: Path | None = None


@dataclass(frozen=True)
class RemindersConfig:
    """[reminders]: the folder introd files reminders in, and the folders the user moves them to."""

    folder: str = "Intros/Reminders"
    done_folder: str = "Intros/Done"  # move a reminder here: the intro is done
    muted_folder: str = "Intros/Muted"  # ... nothing about it is ever due again
    snoozed_folder: str = "Intros/Snoozed"  # ... quiet for snooze_days, then it comes back
    snooze_days: int = 7


@dataclass(frozen=True)
class DaemonConfig:
    """[daemon]: schedules of the long-running `introd run`."""

    due_check_interval: int = 3600  # re-check due dates at least this often with no new mail, seconds


@dataclass(frozen=True)
class DigestConfig:
    """[digest]: when the weekly digest goes out, in which zone, and to which of the user's own addresses."""

    enabled: bool = True
    day: str = "monday"  # one of WEEKDAYS
    time: str = "08:00"  # HH:MM, local time in ``timezone``
    timezone: str = "UTC"  # default: [timing] timezone (itself the system's zone by default)
    to: tuple[str, ...] = ()  # empty: each account's first address; always some account's own addresses

    @property
    def weekday(self) -> int:
        """Monday = 0 ... Sunday = 6."""
        return WEEKDAYS.index(self.day)

    @property
    def hour_minute(self) -> tuple[int, int]:
        """``time`` as (hour, minute)."""
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class SmtpConfig:
    """[smtp]: where the digest is sent from; without a host the digest is filed in the reminders folder."""

    host: str = ""
    port: int = 465  # default 465 for tls, 587 for starttls
    security: str = "tls"  # tls (implicit) | starttls; certificates and host names are always verified
    username: str = ""  # default: the account's IMAP username
    password_env: str | None = None  # with neither this nor password_command: the account's credentials
    password_command: str | None = None
    ca_file: str | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path
    state: StateConfig
    accounts: tuple[AccountConfig, ...]
    timing: Timing = field(default_factory=Timing)
    drafts: DraftsConfig = field(default_factory=DraftsConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    log_format: str = "text"  # text | json
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)

    def account(self, name: str) -> AccountConfig:
        """The account called ``name``; ConfigError when there is none."""
        for acct in self.accounts:
            if acct.name == name:
                return acct
        names = ", ".join(a.name for a in self.accounts)
        raise ConfigError(str(self.path), "accounts", f"no account named {name!r} (have: {names})")


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback IP literals."""
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def xdg_dir(env: str, fallback: str) -> Path:
    """An XDG base directory: $ENV when absolute, else ~/fallback."""
    value = os.environ.get(env, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def default_config_path() -> Path:
    """$XDG_CONFIG_HOME/introd/config.toml."""
    return xdg_dir("XDG_CONFIG_HOME", ".config") / "introd" / "config.toml"


def default_state_path() -> Path:
    """$XDG_STATE_HOME/introd/introd.sqlite3 (systemd's $STATE_DIRECTORY when set)."""
    state_dir = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state_dir:
        return Path(state_dir) / "introd.sqlite3"
    return xdg_dir("XDG_STATE_HOME", ".local/state") / "introd" / "introd.sqlite3"


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config file; raise ConfigError naming file, key and expectation."""
    path = path or default_config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found (create it from config.example.toml)") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(str(path), "", "file is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"TOML syntax error: {exc}") from None
    config = parse_config(data, path)
    warn_if_exposed(config)
    return config


def warn_if_exposed(config: Config) -> None:
    """Warn when a config file that names a secret command can be read or changed by other users."""
    commands = [a.password_command or a.oauth_token_command for a in config.accounts]
    commands.append(config.smtp.password_command)
    if not any(commands):
        return
    try:
        mode = stat.S_IMODE(config.path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        logging.getLogger(__name__).warning(
            "%s is readable by other users (mode %04o) and holds a password or token command: "
            "run `chmod 600 %s`", config.path, mode, config.path)


class _Table:
    """Typed access to one TOML table that remembers the key path for errors."""

    def __init__(self, data: Mapping[str, Any], path: Path, where: str) -> None:
        self.data = data
        self.path = path
        self.where = where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(str(self.path), self.key(name), problem)

    def get(self, name: str, kind: type[T], default: T | None = None, *, required: bool = False) -> T:
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.error(name, f"missing; expected {_kind_name(kind)}")
            return default  # type: ignore[return-value]
        value = self.data[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise self.error(name, f"expected {_kind_name(kind)}, got {_toml_type(value)} {value!r}")
        return value  # type: ignore[no-any-return]

    def string(self, name: str, default: str = "", *, required: bool = False) -> str:
        value = self.get(name, str, default, required=required)
        if required and not value.strip():
            raise self.error(name, "expected a non-empty string")
        return value

    def optional_string(self, name: str) -> str | None:
        """The string at ``name``, or None when the key is absent."""
        if name not in self.data:
            self.used.add(name)
            return None
        return self.string(name)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self.get(name, int, default)
        if not lo <= value <= hi:
            raise self.error(name, f"expected an integer from {lo} to {hi}, got {value}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            raise self.error(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, name: str, default: tuple[str, ...], *, nonempty: bool = False) -> tuple[str, ...]:
        if nonempty and not default and name not in self.data:
            self.used.add(name)
            raise self.error(name, "missing; expected an array of strings")
        value = self.get(name, list, list(default))
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(name, "expected a list of non-empty strings")
        if nonempty and not value:
            raise self.error(name, "expected at least one entry")
        return tuple(value)

    def table(self, name: str) -> _Table:
        return _Table(self.get(name, dict, {}), self.path, self.key(name))

    def check_unknown(self) -> None:
        for name in self.data:
            if name not in self.used:
                known = ", ".join(sorted(self.used))
                raise self.error(name, f"unknown key (known keys here: {known})")


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            list: "an array", dict: "a table"}.get(kind, kind.__name__)


def _toml_type(value: object) -> str:
    return {str: "string", int: "integer", float: "float", bool: "boolean", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _expand(value: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(value)))


def _relative_to(path: Path, base: Path) -> Path:
    """Relative paths in the config are relative to the config file's directory."""
    return path if path.is_absolute() else base / path


def _existing_file(table: _Table, name: str, base: Path) -> str | None:
    value = table.optional_string(name)
    if value is None:
        return None
    path = _relative_to(_expand(value), base)
    if not path.is_file():
        raise table.error(name, f"expected a readable file, {str(path)!r} does not exist")
    return str(path)


def _check_secret_sources(table: _Table, password_env: str | None, password_command: str | None,
                          alternatives: str) -> None:
    """At most one of password_env/password_command, and never a secret in the file itself."""
    if password_env and password_command:
        raise table.error("password_command", "set either password_env or password_command, not both")
    for forbidden in ("password", "pass", "secret"):
        if forbidden in table.data:
            table.used.add(forbidden)
            raise table.error(forbidden, f"secrets never go in the config file; use password_env, {alternatives}")


def _parse_account(table: _Table, base: Path) -> AccountConfig:
    name = table.string("name", required=True)
    backend = table.choice("backend", "imap", ("imap", "maildir"))
    addresses = tuple(a.lower() for a in table.strings("addresses", (), nonempty=True))
    for i, addr in enumerate(addresses):
        if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
            raise table.error(f"addresses[{i}]", f"expected an email address, got {addr!r}")
    maildir = table.optional_string("maildir")
    host = table.string("host", "")
    if backend == "imap" and not host:
        raise table.error("host", "missing; expected the IMAP server's host name")
    if backend == "maildir" and not maildir:
        raise table.error("maildir", "missing; expected the path of a Maildir (backend = \"maildir\")")
    security = table.choice("security", "tls", SECURITY_MODES)
    port = table.integer("port", 993 if security == "tls" else 143, 1, 65535)
    password_env = table.optional_string("password_env")
    password_command = table.optional_string("password_command")
    auth = table.choice("auth", "password", AUTH_MODES)
    oauth_token_command = table.optional_string("oauth_token_command")
    if auth != "password" and not oauth_token_command:
        raise table.error("oauth_token_command", f"missing; auth = \"{auth}\" needs a command that prints "
                          "an OAuth2 access token (e.g. \"oama access alice@gmail.com\")")
    _check_secret_sources(table, password_env, password_command,
                          "password_command, a systemd credential or `introd set-password`")
    acct = AccountConfig(
        name=name,
        addresses=addresses,
        display_name=table.string("display_name", ""),
        backend=backend,
        host=host,
        port=port,
        security=security,
        username=table.string("username", addresses[0]),
        password_env=password_env,
        password_command=password_command,
        credential=table.optional_string("credential"),
        ca_file=_existing_file(table, "ca_file", base),
        maildir=str(_relative_to(_expand(maildir), base)) if maildir else None,
        watch=table.strings("watch", ("INBOX",), nonempty=True),
        timeout=float(table.integer("timeout", 60, 1, 3600)),
        auth=auth,
        oauth_token_command=oauth_token_command,
        poll_interval=table.integer("poll_interval", 60, 1, 3600),
        keepalive=table.integer("keepalive", 300, 1, 1500),
        max_connections=table.integer("max_connections", 4, 1, 50),
    )
    if backend == "imap" and security == "plain" and not acct.is_loopback:
        raise table.error("security", f"\"plain\" sends the password unencrypted; it is allowed only "
                          f"for a loopback host, not {host!r} (use tls or starttls)")
    table.check_unknown()
    return acct


def _parse_timing(table: _Table) -> Timing:
    tz = table.string("timezone", _system_timezone())
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise table.error("timezone", f"expected an IANA time zone such as \"Europe/Berlin\", got {tz!r}") from None
    timing = Timing(
        owe_reply_days=table.integer("owe_reply_days", 2, 0, 365),
        nudge_days=table.integer("nudge_days", 5, 1, 365),
        max_nudges=table.integer("max_nudges", 2, 0, 10),
        stalled_days=table.integer("stalled_days", 7, 1, 365),
        followup_days=table.integer("followup_days", 21, 1, 365),
        history_days=table.integer("history_days", 60, 0, 36500),
        business_days=table.get("business_days", bool, False),
        timezone=tz,
    )
    table.check_unknown()
    return timing


def _system_timezone() -> str:
    """The system's IANA zone name from $TZ or /etc/localtime, else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


def _parse_digest(table: _Table, default_tz: str, accounts: tuple[AccountConfig, ...]) -> DigestConfig:
    day = table.string("day", "monday").strip().lower()
    if day not in WEEKDAYS:
        raise table.error("day", f"expected a weekday name such as \"monday\", got {day!r}")
    time = table.string("time", "08:00").strip()
    parts = time.split(":")
    if (len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts)
            or int(parts[0]) > 23 or int(parts[1]) > 59):
        raise table.error("time", f"expected a 24-hour time HH:MM such as \"08:00\", got {time!r}")
    tz = table.string("timezone", default_tz)
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise table.error("timezone", f"expected an IANA time zone such as \"Europe/Berlin\", got {tz!r}") from None
    own = {a for acct in accounts for a in acct.addresses}
    to = tuple(a.strip().lower() for a in table.strings("to", ()))
    for i, addr in enumerate(to):
        if addr not in own:
            raise table.error(f"to[{i}]", f"the digest goes only to your own addresses; {addr!r} is not in any "
                              "account's addresses")
    cfg = DigestConfig(enabled=table.get("enabled", bool, True), day=day, time=time, timezone=tz, to=to)
    table.check_unknown()
    return cfg


def _parse_smtp(table: _Table, base: Path) -> SmtpConfig:
    host = table.string("host", "").strip()
    security = table.choice("security", "tls", SMTP_SECURITY_MODES)
    password_env = table.optional_string("password_env")
    password_command = table.optional_string("password_command")
    _check_secret_sources(table, password_env, password_command,
                          "password_command, or leave both out to use the account's credentials")
    cfg = SmtpConfig(
        host=host,
        port=table.integer("port", 465 if security == "tls" else 587, 1, 65535),
        security=security,
        username=table.string("username", ""),
        password_env=password_env,
        password_command=password_command,
        ca_file=_existing_file(table, "ca_file", base),
        timeout=float(table.integer("timeout", 60, 1, 3600)),
    )
    table.check_unknown()
    return cfg


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate parsed TOML into a Config (pure; ``path`` only names the file in errors)."""
    top = _Table(data, path, "")
    base = path.parent
    state = top.table("state")
    state_path = state.optional_string("path")
    state.check_unknown()
    raw_accounts = top.get("accounts", list, required=True)
    if not raw_accounts:
        raise top.error("accounts", "expected at least one [[accounts]] table")
    accounts: list[AccountConfig] = []
    for i, raw in enumerate(raw_accounts):
        if not isinstance(raw, dict):
            raise top.error(f"accounts[{i}]", "expected a table ([[accounts]])")
        acct = _parse_account(_Table(raw, path, f"accounts[{i}]"), base)
        if any(a.name == acct.name for a in accounts):
            raise top.error(f"accounts[{i}].name", f"duplicate account name {acct.name!r}")
        accounts.append(acct)
    drafts = top.table("drafts")
    templates = drafts.optional_string("templates")
    drafts_cfg = DraftsConfig(
        max_per_pass=drafts.integer("max_per_pass", 20, 0, 1000),
        templates=_expand(templates) if templates else None,
    )
    drafts.check_unknown()
    reminders = top.table("reminders")
    reminders_cfg = RemindersConfig(
        folder=reminders.string("folder", "Intros/Reminders"),
        done_folder=reminders.string("done_folder", "Intros/Done"),
        muted_folder=reminders.string("muted_folder", "Intros/Muted"),
        snoozed_folder=reminders.string("snoozed_folder", "Intros/Snoozed"),
        snooze_days=reminders.integer("snooze_days", 7, 1, 365),
    )
    reminders.check_unknown()
    logging_tbl = top.table("logging")
    log_format = logging_tbl.choice("format", "text", ("text", "json"))
    logging_tbl.check_unknown()
    daemon_tbl = top.table("daemon")
    daemon_cfg = DaemonConfig(due_check_interval=daemon_tbl.integer("due_check_interval", 3600, 10, 86400))
    daemon_tbl.check_unknown()
    timing = _parse_timing(top.table("timing"))
    config = Config(
        path=path,
        state=StateConfig(path=_expand(state_path) if state_path else default_state_path()),
        accounts=tuple(accounts),
        timing=timing,
        drafts=drafts_cfg,
        reminders=reminders_cfg,
        log_format=log_format,
        daemon=daemon_cfg,
        digest=_parse_digest(top.table("digest"), timing.timezone, tuple(accounts)),
        smtp=_parse_smtp(top.table("smtp"), base),
    )
    top.check_unknown()
    return config

