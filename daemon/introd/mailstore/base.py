"""The one small interface every mail store implements (IMAP, Maildir)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# Headers fetched for the index and the prefilter; bodies are fetched only for candidates.
INDEX_HEADERS: tuple[str, ...] = (
    "From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-ID", "In-Reply-To", "References",
    "List-Id", "List-Unsubscribe", "Precedence", "Auto-Submitted", "X-Auto-Response-Suppress",
    "Content-Type", "X-LinkedIn-Class", "X-Introd-Action",
)


@dataclass
class StoreStats:
    """What a store connection cost: messages whose headers/bodies were read, commands sent, appends."""

    headers_fetched: int = 0
    bodies_fetched: int = 0
    commands: int = 0
    appended: int = 0


@dataclass(frozen=True)
class FolderStatus:
    """What a folder looks like now; compared with the stored sync position."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None = None


@dataclass(frozen=True)
class SpecialFolders:
    """Resolved folder names on this store (RFC 6154 SPECIAL-USE, then common names)."""

    inbox: str
    sent: str | None
    drafts: str | None
    archive: str | None
    delimiter: str


@dataclass(frozen=True)
class HeaderFetch:
    """One message's envelope data: UID, flags, INTERNALDATE, size and raw index headers."""

    uid: int
    flags: tuple[str, ...]
    internaldate: datetime
    size: int
    header_bytes: bytes
    gm_thread_id: str | None = None


class MailStore(Protocol):
    """A mailbox introd reads from and appends to; it never deletes what it did not write."""

    def capabilities(self) -> frozenset[str]:
        """Upper-case capability names (IDLE, CONDSTORE, QRESYNC, SPECIAL-USE, MOVE, ...)."""
        ...

    def special_folders(self) -> SpecialFolders:
        """Resolve INBOX, Sent, Drafts and Archive."""
        ...

    def list_folders(self) -> list[str]:
        """Every selectable folder name."""
        ...

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` (and its parents) when missing."""
        ...

    def status(self, folder: str) -> FolderStatus:
        """UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ (when known)."""
        ...

    def fetch_headers(self, folder: str, after_uid: int = 0) -> Iterator[HeaderFetch]:
        """Index headers of every message with UID > after_uid, in UID order, batched."""
        ...

    def fetch_messages(self, folder: str, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """RFC 5322 bytes of the given messages (candidates only); a store may cut a very large message down
        to its header and text parts (IMAP: BODYSTRUCTURE), so attachments never cost memory."""
        ...

    def fetch_flags(self, folder: str, uids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Current flags of the given UIDs; missing UIDs (expunged) are absent."""
        ...

    def append(
        self, folder: str, message: bytes, flags: Sequence[str], internaldate: datetime
    ) -> int | None:
        """Append one message; returns its UID when the store reports it (UIDPLUS)."""
        ...

    def find_message_id(self, folder: str, message_id: str) -> list[int]:
        """UIDs in ``folder`` whose Message-ID header equals ``message_id`` (no brackets)."""
        ...

    def delete_own(self, folder: str, uid: int, message_id: str) -> bool:
        """Delete one message introd wrote, after re-checking its Message-ID; False if it is gone."""
        ...

    def close(self) -> None:
        """Log out / release; safe to call twice."""
        ...
