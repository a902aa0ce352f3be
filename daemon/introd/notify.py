"""sd_notify(3) over ``$NOTIFY_SOCKET``: READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1.

The message formatting is pure; ``Notifier`` is the thin socket shell (a no-op outside systemd).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def format_message(**fields: str | int) -> bytes:
    """``KEY=value`` lines; a value never contains a newline (it would start a new assignment)."""
    lines = []
    for key, value in fields.items():
        text = str(value).replace("\r", " ").replace("\n", " ")
        lines.append(f"{key}={text}")
    return "\n".join(lines).encode("utf-8")


def status_text(accounts: Mapping[str, str], limit: int = 400) -> str:
    """One STATUS= line: what the daemon is doing, per account (``work: idle; home: login rejected``)."""
    text = "; ".join(f"{name}: {what}" for name, what in accounts.items()) or "starting"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def socket_address(value: str) -> str | bytes | None:
    """The address to send to: a path, or an abstract-namespace name (``@name`` -> ``\\0name``)."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # vsock and other forms are not supported


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``$WATCHDOG_USEC``), or None when no watchdog applies."""
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and owner != str(pid):
        return None
    return int(usec) / 1_000_000 / 2


class Notifier:
    """Sends notifications to systemd; silently does nothing when ``$NOTIFY_SOCKET`` is unset."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog = watchdog_interval(env, os.getpid())
        self._sock: socket.socket | None = None
        self._last_status = ""
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        """True under systemd (Type=notify)."""
        return self._sock is not None

    def send(self, **fields: str | int) -> None:
        """Send one notification; errors are logged at DEBUG and otherwise ignored."""
        if self._sock is None or self.address is None:
            return
        try:
            self._sock.sendto(format_message(**fields), self.address)
        except OSError as exc:
            log.debug("sd_notify failed: %s", exc)

    def status(self, accounts: Mapping[str, str]) -> None:
        """STATUS= with one entry per account (sent only when it changed)."""
        text = status_text(accounts)
        if text != self._last_status:
            self._last_status = text
            self.send(STATUS=text)

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
