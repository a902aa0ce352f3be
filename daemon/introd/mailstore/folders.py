"""Resolve INBOX, Sent, Drafts and Archive from a folder listing (RFC 6154 SPECIAL-USE, then common names).

Pure functions: the IMAP store feeds them its LIST response, the Maildir store its directory names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from introd.mailstore.base import SpecialFolders


@dataclass(frozen=True)
class ListEntry:
    """One LIST response line: folder name (decoded), attribute flags and hierarchy delimiter."""

    name: str
    flags: frozenset[str] = frozenset()
    delimiter: str | None = "/"

    @property
    def selectable(self) -> bool:
        """False for \\Noselect and \\NonExistent entries (RFC 3501, RFC 5258)."""
        lowered = {f.lower() for f in self.flags}
        return not ({"\\noselect", "\\nonexistent"} & lowered)


# Common names per role, most specific first; "{d}" is the server's hierarchy delimiter.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "sent": (
        "Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX{d}Sent", "INBOX{d}Sent Items",
        "INBOX{d}Sent Messages", "[Gmail]{d}Sent Mail", "[Google Mail]{d}Sent Mail", "Gesendet",
        "Gesendete Elemente", "Envoyés", "Elementos enviados",
    ),
    "drafts": (
        "Drafts", "Draft", "INBOX{d}Drafts", "INBOX{d}Draft", "[Gmail]{d}Drafts", "[Google Mail]{d}Drafts",
        "Entwürfe", "Brouillons", "Borradores",
    ),
    "archive": (
        "Archive", "Archives", "INBOX{d}Archive", "INBOX{d}Archives", "[Gmail]{d}All Mail",
        "[Google Mail]{d}All Mail", "Archiv",
    ),
}

# RFC 6154 attributes per role, preferred first (\All is Gmail's "All Mail", a usable archive).
SPECIAL_USE: dict[str, tuple[str, ...]] = {
    "sent": ("\\sent",),
    "drafts": ("\\drafts",),
    "archive": ("\\archive", "\\all"),
}


def main_delimiter(entries: Iterable[ListEntry]) -> str:
    """The hierarchy delimiter most folders use ("/" when the server names none)."""
    counts = Counter(e.delimiter for e in entries if e.delimiter)
    return counts.most_common(1)[0][0] if counts else "/"


def resolve_special_folders(entries: Iterable[ListEntry]) -> SpecialFolders:
    """Pick INBOX, Sent, Drafts and Archive: SPECIAL-USE attributes first, then common names."""
    usable = [e for e in entries if e.selectable]
    delimiter = main_delimiter(usable)
    inbox = next((e.name for e in usable if e.name.upper() == "INBOX"), None)
    if inbox is None:  # XLIST servers may localise the inbox's name and flag it \Inbox
        inbox = next((e.name for e in usable if "\\inbox" in {f.lower() for f in e.flags}), "INBOX")
    found = {role: _by_flag(usable, flags) or _by_name(usable, role, delimiter)
             for role, flags in SPECIAL_USE.items()}
    return SpecialFolders(inbox=inbox, sent=found["sent"], drafts=found["drafts"], archive=found["archive"],
                          delimiter=delimiter)


def _by_flag(entries: list[ListEntry], flags: tuple[str, ...]) -> str | None:
    for flag in flags:
        for entry in entries:
            if flag in {f.lower() for f in entry.flags}:
                return entry.name
    return None


def _by_name(entries: list[ListEntry], role: str, delimiter: str) -> str | None:
    by_lower: dict[str, str] = {}
    for entry in entries:
        by_lower.setdefault(entry.name.casefold(), entry.name)
    for pattern in COMMON_NAMES[role]:
        wanted = pattern.replace("{d}", delimiter)
        exact = next((e.name for e in entries if e.name == wanted), None)
        if exact is not None:
            return exact
        if wanted.casefold() in by_lower:
            return by_lower[wanted.casefold()]
    return None


def to_server_path(path: str, delimiter: str | None, prefix: str = "") -> str:
    """Turn a config path like "Intros/Reminders" into the server's name ("Intros.Reminders" for ".").

    ``prefix`` is the personal namespace prefix (e.g. "INBOX." on Courier); a path that already
    starts with it is left alone. A component that contains the server's delimiter cannot be
    expressed and raises ValueError.
    """
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts:
        raise ValueError(f"empty folder path {path!r}")
    if delimiter is None:  # a flat server: no hierarchy at all
        if len(parts) > 1:
            raise ValueError(f"folder {path!r} needs a hierarchy, but the server has none")
        return parts[0]
    for part in parts:
        if delimiter in part and delimiter != "/":
            raise ValueError(f"folder name {part!r} contains the server's hierarchy delimiter {delimiter!r}")
    name = delimiter.join(parts)
    if prefix and not name.startswith(prefix) and name.upper() != "INBOX":
        name = prefix + name
    return name


def parents(name: str, delimiter: str | None) -> list[str]:
    """Every ancestor of ``name``, outermost first ("A.B.C" -> ["A", "A.B"])."""
    if not delimiter:
        return []
    parts = name.split(delimiter)
    return [delimiter.join(parts[:i]) for i in range(1, len(parts))]
