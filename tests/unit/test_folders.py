"""Special-folder resolution and config-path conversion (pure, table-driven)."""

from __future__ import annotations

import pytest

from introd.mailstore.folders import (
    ListEntry,
    main_delimiter,
    parents,
    resolve_special_folders,
    to_server_path,
)


def entries(delim: str, *specs: str) -> list[ListEntry]:
    """Build LIST entries from "Name" or "Name|\\Flag1 \\Flag2" strings."""
    out = []
    for spec in specs:
        name, _, flags = spec.partition("|")
        out.append(ListEntry(name, frozenset(flags.split()), delim))
    return out


RESOLVE_CASES = [
    # (id, listing, expected (inbox, sent, drafts, archive, delimiter))
    ("dovecot special-use", entries("/", "INBOX", "Sent|\\Sent", "Drafts|\\Drafts", "Archive|\\Archive"),
     ("INBOX", "Sent", "Drafts", "Archive", "/")),
    ("flags beat names", entries("/", "INBOX", "Sent", "Outbox|\\Sent", "Drafts", "Entw|\\Drafts"),
     ("INBOX", "Outbox", "Entw", None, "/")),
    ("gmail", entries("/", "INBOX", "[Gmail]|\\Noselect \\HasChildren", "[Gmail]/Sent Mail|\\Sent",
                      "[Gmail]/Drafts|\\Drafts", "[Gmail]/All Mail|\\All"),
     ("INBOX", "[Gmail]/Sent Mail", "[Gmail]/Drafts", "[Gmail]/All Mail", "/")),
    ("gmail without flags",
     entries("/", "INBOX", "[Gmail]/Sent Mail", "[Gmail]/Drafts", "[Gmail]/All Mail"),
     ("INBOX", "[Gmail]/Sent Mail", "[Gmail]/Drafts", "[Gmail]/All Mail", "/")),
    ("courier dot namespace",
     entries(".", "INBOX", "INBOX.Sent", "INBOX.Drafts", "INBOX.Archive"),
     ("INBOX", "INBOX.Sent", "INBOX.Drafts", "INBOX.Archive", ".")),
    ("exchange names", entries("/", "Inbox", "Sent Items", "Drafts", "Archive"),
     ("Inbox", "Sent Items", "Drafts", "Archive", "/")),
    ("apple names", entries(".", "INBOX", "Sent Messages", "Drafts"),
     ("INBOX", "Sent Messages", "Drafts", None, ".")),
    ("case-insensitive names", entries("/", "INBOX", "sent", "DRAFTS"),
     ("INBOX", "sent", "DRAFTS", None, "/")),
    ("slash name under dot delimiter is not INBOX.Sent", entries(".", "INBOX", "INBOX/Sent"),
     ("INBOX", None, None, None, ".")),
    ("noselect flagged folder ignored", entries("/", "INBOX", "Old|\\Sent \\Noselect", "Sent"),
     ("INBOX", "Sent", None, None, "/")),
    ("archive flag beats all-mail flag", entries("/", "INBOX", "All|\\All", "Keep|\\Archive"),
     ("INBOX", None, None, "Keep", "/")),
    ("nothing but an inbox", entries("/", "INBOX"), ("INBOX", None, None, None, "/")),
    ("empty listing", [], ("INBOX", None, None, None, "/")),
    ("xlist localised inbox", entries("/", "Posteingang|\\Inbox", "Gesendet"),
     ("Posteingang", "Gesendet", None, None, "/")),
]


@pytest.mark.parametrize(("listing", "expected"), [c[1:] for c in RESOLVE_CASES],
                         ids=[c[0] for c in RESOLVE_CASES])
def test_resolve_special_folders(listing: list[ListEntry], expected: tuple[object, ...]) -> None:
    """Special-use attributes win over names; names follow the server's delimiter; \\Noselect never counts."""
    sf = resolve_special_folders(listing)
    assert (sf.inbox, sf.sent, sf.drafts, sf.archive, sf.delimiter) == expected


def test_main_delimiter_is_the_most_common() -> None:
    """The delimiter most entries report wins over an odd one out."""
    listing = [ListEntry("INBOX", delimiter="."), ListEntry("A", delimiter="."),
               ListEntry("B", delimiter="/")]
    assert main_delimiter(listing) == "."


PATH_CASES = [
    ("Intros/Reminders", "/", "", "Intros/Reminders"),
    ("Intros/Reminders", ".", "", "Intros.Reminders"),
    ("/Intros/Reminders/", ".", "", "Intros.Reminders"),
    ("Intros/Reminders", ".", "INBOX.", "INBOX.Intros.Reminders"),
    ("INBOX/Intros", ".", "INBOX.", "INBOX.Intros"),
    ("INBOX", ".", "INBOX.", "INBOX"),
    ("Intros", None, "", "Intros"),
    ("A/B/C", "\\", "", "A\\B\\C"),
]


@pytest.mark.parametrize(("path", "delimiter", "prefix", "expected"), PATH_CASES)
def test_to_server_path(path: str, delimiter: str | None, prefix: str, expected: str) -> None:
    """A "/"-separated config path becomes the server's name with its delimiter and namespace prefix."""
    assert to_server_path(path, delimiter, prefix) == expected


@pytest.mark.parametrize(("path", "delimiter"), [("", "/"), ("Intros/Re.minders", "."), ("A/B", None)])
def test_to_server_path_rejects_what_cannot_be_expressed(path: str, delimiter: str | None) -> None:
    """Empty paths, names containing the delimiter and nesting on a flat server raise ValueError."""
    with pytest.raises(ValueError, match="folder"):
        to_server_path(path, delimiter)


@pytest.mark.parametrize(("name", "delimiter", "expected"), [
    ("A.B.C", ".", ["A", "A.B"]), ("A", ".", []), ("A/B", "/", ["A"]), ("A/B", None, []),
])
def test_parents(name: str, delimiter: str | None, expected: list[str]) -> None:
    """Ancestors are listed outermost first, split on the server's delimiter."""
    assert parents(name, delimiter) == expected
