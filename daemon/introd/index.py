"""Light header-index rows: what candidate selection needs of every message, without the full record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One indexed message as candidate selection sees it."""

    folder: str
    uid: int
    message_id: str
    date: str  # ISO 8601, as stored (sorts chronologically for one zone; only used for ordering)
    refs: tuple[str, ...]  # In-Reply-To then References ids, no angle brackets
    passed: bool  # the header prefilter passed it

    @property
    def key(self) -> tuple[str, int]:
        """(folder, uid): where the message sits."""
        return (self.folder, self.uid)
