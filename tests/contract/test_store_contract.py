"""The MailStore contract: one test class, run against the Maildir store and the IMAP store on real Dovecot.

Line endings: both stores return message bytes with CRLF line endings (IMAP's wire form), so a message
appended with CRLF comes back byte for byte; the Maildir store writes LF to disk like mbsync and Dovecot.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from introd.config import AccountConfig
from introd.mailstore.base import MailStore
from introd.mailstore.imap import WHOLE_FETCH_MAX, ImapStore
from introd.mailstore.maildir import SIDECAR, MaildirStore
from introd.message import Skipped, parse_message

WHEN = datetime(2026, 3, 2, 10, 30, 5, tzinfo=timezone.utc)


def raw(n: int, subject: str = "Hello", extra: str = "") -> bytes:
    """A small RFC 5322 message with CRLF line endings and Message-ID <msgN@example.org>."""
    return (
        f"From: Sender {n} <sender{n}@example.org>\r\nTo: user@example.test\r\nSubject: {subject} {n}\r\n"
        f"Date: Mon, 02 Mar 2026 10:{n % 60:02d}:00 +0000\r\nMessage-ID: <msg{n}@example.org>\r\n{extra}"
        f"X-Not-Indexed: secret-{n}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Body line {n}\r\nsecond line\r\n"
    ).encode()


@dataclass
class Backend:
    """How to open a store on one fresh mailbox, again and again."""

    name: str
    open: Callable[[], MailStore]


def make_maildir(root: Path) -> Path:
    """A Maildir++ tree like mbsync writes: INBOX at the root, .Drafts .Sent .Archive .Trash beside it."""
    md = mailbox.Maildir(str(root), create=True)
    for name in ("Drafts", "Sent", "Archive", "Trash"):
        md.add_folder(name)
    return root


@pytest.fixture(params=["maildir", pytest.param("imap", marks=pytest.mark.dovecot)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend over an empty mailbox with Drafts/Sent/Archive/Trash."""
    if request.param == "maildir":
        root = make_maildir(tmp_path / "Maildir")
        return Backend("maildir", lambda: MaildirStore(str(root)))
    dovecot = request.getfixturevalue("dovecot")
    user = request.getfixturevalue("mail_user")
    account = AccountConfig(name="work", addresses=(user.email,), host=dovecot.host, port=dovecot.port,
                            security="plain", username=user.username, timeout=30)
    return Backend("imap", lambda: ImapStore.connect(account, user.password))


@pytest.fixture
def store(backend: Backend) -> Iterator[MailStore]:
    """An open store, closed after the test."""
    opened = backend.open()
    yield opened
    opened.close()


class TestStoreContract:
    """What sync, drafting and cleanup rely on, identical for every backend."""

    def test_special_folders(self, store: MailStore) -> None:
        """INBOX, Sent, Drafts and Archive resolve to the mailbox's folders."""
        sf = store.special_folders()
        assert (sf.inbox, sf.sent, sf.drafts, sf.archive) == ("INBOX", "Sent", "Drafts", "Archive")
        assert sf.delimiter in ("/", ".")
        assert {"INBOX", "Sent", "Drafts", "Archive", "Trash"} <= set(store.list_folders())

    def test_status_after_append(self, store: MailStore) -> None:
        """APPEND returns a UID in [old UIDNEXT, new UIDNEXT) and bumps the count; UIDVALIDITY stays."""
        before = store.status("INBOX")
        uid = store.append("INBOX", raw(1), (), WHEN)
        after = store.status("INBOX")
        assert uid is not None and before.uidnext <= uid < after.uidnext
        assert after.exists == before.exists + 1
        assert after.uidvalidity == before.uidvalidity

    def test_fetch_headers_only_newer(self, store: MailStore) -> None:
        """fetch_headers(after_uid) yields only UIDs above it, in order, and nothing past the last one."""
        uids = [uid for n in range(3) if (uid := store.append("INBOX", raw(n), (), WHEN)) is not None]
        assert len(uids) == 3
        assert [h.uid for h in store.fetch_headers("INBOX")] == uids
        assert [h.uid for h in store.fetch_headers("INBOX", uids[0])] == uids[1:]
        assert list(store.fetch_headers("INBOX", uids[-1])) == []  # IMAP "N:*" would return the last one

    def test_header_bytes_hold_the_index_headers(self, store: MailStore) -> None:
        """Header bytes carry the index headers but neither the body nor other headers; INTERNALDATE kept."""
        store.append("INBOX", raw(7), (), WHEN)
        (head,) = list(store.fetch_headers("INBOX"))
        text = head.header_bytes.lower()
        for needle in (b"message-id: <msg7@example.org>", b"subject: hello 7", b"from: sender 7",
                       b"content-type: text/plain"):
            assert needle in text
        assert b"x-not-indexed" not in text and b"body line" not in text
        assert head.header_bytes.endswith(b"\r\n\r\n")
        assert head.internaldate == WHEN
        assert head.size >= len(b"Body line 7")

    def test_fetch_messages_returns_the_appended_bytes(self, store: MailStore) -> None:
        """A CRLF message comes back byte for byte; unknown UIDs are left out."""
        uid = store.append("INBOX", raw(3), (), WHEN)
        assert uid is not None
        assert list(store.fetch_messages("INBOX", [uid, uid + 100])) == [(uid, raw(3))]

    def test_large_message_still_yields_its_text(self, backend: Backend, store: MailStore) -> None:
        """A message with a 3 MB attachment parses to its text; IMAP fetches its text parts only (BODYSTRUCTURE)."""
        attachment = b"QUJD" * 19 + b"\r\n"
        big = (b"From: Dana <dana@example.org>\r\nTo: user@example.test\r\nSubject: Big\r\n"
               b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <big@example.org>\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/mixed; boundary="xx"\r\n\r\n--xx\r\nContent-Type: multipart/alternative;'
               b' boundary="yy"\r\n\r\n--yy\r\nContent-Type: text/plain; charset=utf-8\r\n'
               b"Content-Transfer-Encoding: quoted-printable\r\n\r\nMeet Marcus, caf=C3=A9 owner.\r\n--yy--\r\n"
               b"--xx\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + attachment * 40_000 + b"--xx--\r\n")
        uid = store.append("INBOX", big, (), WHEN)
        assert uid is not None
        [(got_uid, fetched)] = list(store.fetch_messages("INBOX", [uid]))
        assert got_uid == uid
        parsed = parse_message(fetched, folder="INBOX", uid=uid)
        assert not isinstance(parsed, Skipped)
        assert "Meet Marcus, café owner." in parsed.new_text
        assert parsed.message_id == "big@example.org" and parsed.subject == "Big"
        if backend.name == "imap":
            assert len(fetched) < WHOLE_FETCH_MAX < len(big)

    def test_flags_round_trip(self, store: MailStore) -> None:
        """Flags given to APPEND (\\Draft \\Seen) come back from fetch_headers and fetch_flags."""
        drafts = store.special_folders().drafts
        assert drafts is not None
        uid = store.append(drafts, raw(4), ("\\Draft", "\\Seen"), WHEN)
        plain = store.append(drafts, raw(5), (), WHEN)
        assert uid is not None and plain is not None
        heads = {h.uid: set(h.flags) for h in store.fetch_headers(drafts)}
        assert heads == {uid: {"\\Draft", "\\Seen"}, plain: set()}
        flags = store.fetch_flags(drafts, [uid, plain, plain + 50])
        assert {u: set(f) for u, f in flags.items()} == {uid: {"\\Draft", "\\Seen"}, plain: set()}

    def test_reading_never_sets_seen(self, backend: Backend, store: MailStore) -> None:
        """Fetching headers and bodies leaves an unread message unread, also as another session sees it."""
        uid = store.append("INBOX", raw(6), (), WHEN)
        assert uid is not None
        assert len(list(store.fetch_headers("INBOX"))) == 1
        assert len(list(store.fetch_messages("INBOX", [uid]))) == 1
        assert "\\Seen" not in store.fetch_flags("INBOX", [uid])[uid]
        other = backend.open()
        try:
            assert other.fetch_flags("INBOX", [uid]) == {uid: ()}
        finally:
            other.close()

    def test_find_message_id(self, store: MailStore) -> None:
        """find_message_id matches the whole Message-ID, with or without brackets, never a substring."""
        one = store.append("INBOX", raw(1), (), WHEN)
        ten = store.append("INBOX", raw(10), (), WHEN)
        assert store.find_message_id("INBOX", "msg1@example.org") == [one]
        assert store.find_message_id("INBOX", "<msg10@example.org>") == [ten]
        assert store.find_message_id("INBOX", "sg1@example.org") == []
        assert store.find_message_id("Sent", "msg1@example.org") == []

    def test_delete_own_refuses_a_wrong_message_id(self, store: MailStore) -> None:
        """delete_own returns False and keeps the message when the UID holds another Message-ID."""
        uid = store.append("INBOX", raw(1), (), WHEN)
        assert uid is not None
        assert store.delete_own("INBOX", uid, "someone-else@example.org") is False
        assert store.find_message_id("INBOX", "msg1@example.org") == [uid]
        assert store.status("INBOX").exists == 1

    def test_delete_own_deletes_only_its_target(self, store: MailStore) -> None:
        """delete_own removes exactly one message, even beside a user's message flagged \\Deleted."""
        mine = store.append("Drafts", raw(1), ("\\Draft",), WHEN)
        theirs = store.append("Drafts", raw(2), ("\\Deleted",), WHEN)
        other = store.append("Drafts", raw(3), (), WHEN)
        assert mine is not None
        assert store.delete_own("Drafts", mine, "<msg1@example.org>") is True
        assert [h.uid for h in store.fetch_headers("Drafts")] == [theirs, other]
        assert store.find_message_id("Drafts", "msg1@example.org") == []
        assert store.delete_own("Drafts", mine, "msg1@example.org") is False
        assert store.status("Drafts").exists == 2

    def test_ensure_folder_nested(self, store: MailStore) -> None:
        """ensure_folder creates a nested folder and its parent with the store's delimiter, idempotently."""
        d = store.special_folders().delimiter
        name = f"Intros{d}Reminders"
        store.ensure_folder(name)
        store.ensure_folder(name)
        assert {"Intros", name} <= set(store.list_folders())
        uid = store.append(name, raw(8), ("\\Seen",), WHEN)
        assert [h.uid for h in store.fetch_headers(name)] == [uid]

    def test_uids_are_stable_across_sessions(self, backend: Backend, store: MailStore) -> None:
        """A second session sees the same UIDVALIDITY, UIDs and UIDNEXT."""
        uids = [store.append("INBOX", raw(n), (), WHEN) for n in range(2)]
        first = store.status("INBOX")
        other = backend.open()
        try:
            assert other.status("INBOX") == first
            assert [h.uid for h in other.fetch_headers("INBOX")] == uids
        finally:
            other.close()

    def test_close_is_idempotent(self, backend: Backend) -> None:
        """close() can be called twice without raising."""
        opened = backend.open()
        assert opened.status("INBOX").exists == 0
        opened.close()
        opened.close()


# -- Maildir-only behaviour: how UIDs are derived without touching the user's files ---------------------


def test_maildir_honours_mbsync_uids_and_never_renames(tmp_path: Path) -> None:
    """Files named ",U=<n>" keep n as their UID; a plain file gets the next UID; no file is renamed."""
    root = make_maildir(tmp_path / "Maildir")
    names = ["1700000000.1_1.host,U=7:2,S", "1700000001.2_1.host,U=3:2,", "1700000002.3_1.host"]
    for i, name in enumerate(names):
        sub = "new" if ":" not in name else "cur"
        (root / sub / name).write_bytes(raw(i).replace(b"\r\n", b"\n"))
    store = MaildirStore(str(root))
    heads = {h.uid: h for h in store.fetch_headers("INBOX")}
    assert sorted(heads) == [3, 7, 8]
    assert heads[7].flags == ("\\Seen",)
    assert b"msg2@example.org" in heads[8].header_bytes
    assert sorted(p.name for p in (root / "cur").iterdir()) == sorted(names[:2])
    assert [p.name for p in (root / "new").iterdir()] == [names[2]]
    assert store.status("INBOX").uidnext == 9


def test_maildir_uids_are_never_reused(tmp_path: Path) -> None:
    """After a message disappears its UID stays retired."""
    root = make_maildir(tmp_path / "Maildir")
    store = MaildirStore(str(root))
    first = store.append("INBOX", raw(1), (), WHEN)
    assert first is not None and store.delete_own("INBOX", first, "msg1@example.org")
    second = store.append("INBOX", raw(2), (), WHEN)
    assert second is not None and second > first
    assert store.status("INBOX").uidnext == second + 1
    key = next((root / "cur").iterdir()).name.split(":")[0]
    assert (root / SIDECAR).read_text().splitlines()[1:] == [f"{second} {key}"]
