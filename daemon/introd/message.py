"""Bytes in, an immutable Message record out (RFC 5322, RFC 2047 headers).

Header-only parsing (for the cheap prefilter and the header index) and full
parsing (new text, quotes and signatures removed) produce the same record;
``has_body`` tells them apart.  Nothing here touches a socket or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    """One mailbox: display name (decoded) and lower-cased address."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Message:
    """What introd knows about one message; plain data, safe to pickle or store."""

    message_id: str  # without angle brackets; synthesised "<sha1>@introd.invalid" if absent
    subject: str
    date: datetime  # tz-aware; INTERNALDATE when Date is missing or absurd
    sender: Address | None  # From (first address)
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    in_reply_to: tuple[str, ...] = ()  # message ids, no angle brackets
    references: tuple[str, ...] = ()  # oldest first, no angle brackets
    folder: str = "INBOX"
    uid: int | None = None
    gm_thread_id: str | None = None  # X-GM-THRID when the server offers it
    automated: tuple[str, ...] = ()  # markers such as "list-id", "noreply-sender", "calendar"
    relayed_by: str | None = None  # e.g. "linkedin" when a notification relays a person's message
    has_body: bool = False
    new_text: str = ""  # the author's own words: quotes, forwards and signature removed
    quoted_text: str = ""  # what the author quoted (evidence for replies within a thread)
    flags: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # selected raw headers

    @property
    def participants(self) -> tuple[Address, ...]:
        """Sender, To and Cc, in that order, without duplicates."""
        seen: dict[str, Address] = {}
        for addr in ((self.sender,) if self.sender else ()) + self.to + self.cc:
            seen.setdefault(addr.email, addr)
        return tuple(seen.values())

    @property
    def is_automated(self) -> bool:
        """True when any automated-mail marker fired."""
        return bool(self.automated)


@dataclass(frozen=True)
class Skipped:
    """A message that could not be parsed: recorded and counted, never raised."""

    folder: str
    uid: int | None
    reason: str
