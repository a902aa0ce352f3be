"""The socket-free parser for raw imaplib UID FETCH / SEARCH data (table-driven)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from introd.mailstore.fetch_parse import (
    compact_set,
    parse_header_fetch,
    parse_internaldate,
    parse_search,
    parse_sequence_set,
)

HDR = b"From: a@example.org\r\nMessage-ID: <x@y>\r\n\r\n"
SECTION = b"BODY[HEADER.FIELDS (FROM TO MESSAGE-ID X-INTROD-ACTION)]"


def dovecot_item(seq: int, uid: int, flags: bytes = b"\\Seen", header: bytes = HDR) -> list[object]:
    """What imaplib returns for one Dovecot FETCH response with a header literal."""
    prefix = (b"%d (UID %d FLAGS (%s) INTERNALDATE \"02-Mar-2026 10:00:00 +0000\" RFC822.SIZE 321 "
              % (seq, uid, flags)) + SECTION + b" {%d}" % len(header)
    return [(prefix, header), b")"]


UTC_10 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)

FETCH_CASES = [
    # (id, raw imaplib data, lo, hi, expected [(uid, flags, size, header, thread id)])
    ("two messages", [*dovecot_item(1, 5), *dovecot_item(2, 9, b"")], 1, None,
     [(5, ("\\Seen",), 321, HDR, None), (9, (), 321, HDR, None)]),
    ("sorted by uid", [*dovecot_item(2, 9), *dovecot_item(1, 5)], 1, None,
     [(5, ("\\Seen",), 321, HDR, None), (9, ("\\Seen",), 321, HDR, None)]),
    ("recent dropped", dovecot_item(1, 5, b"\\Recent \\Draft"), 1, None,
     [(5, ("\\Draft",), 321, HDR, None)]),
    ("uid after the literal (gmail order)",
     [(b"1 (X-GM-THRID 1234567890123 FLAGS () " + SECTION + b" {%d}" % len(HDR), HDR),
      b' INTERNALDATE "02-Mar-2026 10:00:00 +0000" RFC822.SIZE 7 UID 42)'], 1, None,
     [(42, (), 7, HDR, "1234567890123")]),
    ("N:* returns the last message below lo", dovecot_item(3, 7), 8, None, []),
    ("above hi ignored", [*dovecot_item(1, 5), *dovecot_item(2, 50)], 1, 10,
     [(5, ("\\Seen",), 321, HDR, None)]),
    ("unsolicited flags update ignored", [b"4 (FLAGS (\\Seen) UID 11)", *dovecot_item(5, 12)], 1, None,
     [(12, ("\\Seen",), 321, HDR, None)]),
    ("none from an empty response", [None], 1, None, []),
    ("empty header as quoted string",
     [b'1 (UID 3 FLAGS () INTERNALDATE "02-Mar-2026 10:00:00 +0000" RFC822.SIZE 5 ' + SECTION + b' "")'],
     1, None, [(3, (), 5, b"", None)]),
    ("NIL header", [b'1 (UID 3 FLAGS () INTERNALDATE "02-Mar-2026 10:00:00 +0000" RFC822.SIZE 5 '
                    + SECTION + b" NIL)"], 1, None, [(3, (), 5, b"", None)]),
    ("duplicate uid keeps the first", [*dovecot_item(1, 5), *dovecot_item(1, 5, b"\\Flagged")], 1, None,
     [(5, ("\\Seen",), 321, HDR, None)]),
    ("header naming UID is not a uid",
     [(b'1 (FLAGS () INTERNALDATE "02-Mar-2026 10:00:00 +0000" RFC822.SIZE 1 '
       b"BODY[HEADER.FIELDS (UID 77)] {%d}" % len(HDR), HDR), b" UID 6)"], 1, None, [(6, (), 1, HDR, None)]),
]


@pytest.mark.parametrize(("data", "lo", "hi", "expected"), [c[1:] for c in FETCH_CASES],
                         ids=[c[0] for c in FETCH_CASES])
def test_parse_header_fetch(data: list[object], lo: int, hi: int | None,
                            expected: list[tuple[object, ...]]) -> None:
    """Each FETCH response becomes one HeaderFetch, in UID order, filtered to [lo, hi]."""
    got = parse_header_fetch(data, lo, hi)  # type: ignore[arg-type]
    assert [(h.uid, h.flags, h.size, h.header_bytes, h.gm_thread_id) for h in got] == expected
    assert all(h.internaldate == UTC_10 for h in got)


DATE_CASES = [
    (b"02-Mar-2026 10:00:00 +0000", datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)),
    (b" 2-Mar-2026 10:00:00 +0100", datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))),
    (b"31-Dec-1999 23:59:59 -0530",
     datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    (b"01-JAN-2020 00:00:00 +0000", datetime(2020, 1, 1, tzinfo=timezone.utc)),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_parse_internaldate(raw: bytes, expected: datetime) -> None:
    """An RFC 3501 date-time (space-padded day allowed) becomes an aware datetime with its offset."""
    got = parse_internaldate(raw)
    assert got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("raw", [b"", b"02-Foo-2026 10:00:00 +0000", b"02-Mar-2026 10:00 +0000", b"garbage"])
def test_parse_internaldate_rejects_garbage(raw: bytes) -> None:
    """A malformed INTERNALDATE raises ValueError naming the value."""
    with pytest.raises(ValueError, match="INTERNALDATE"):
        parse_internaldate(raw)


@pytest.mark.parametrize(("data", "expected"), [
    ([b"1 2 5"], [1, 2, 5]),
    ([None], []),
    ([b""], []),
    ([b'(TAG "A5") UID ALL 1:3,7'], [1, 2, 3, 7]),
    ([b'(TAG "A5") UID'], []),
    ([b'(TAG "A5") UID COUNT 3 ALL 4:2'], [2, 3, 4]),
])
def test_parse_search(data: list[bytes | None], expected: list[int]) -> None:
    """Plain SEARCH and ESEARCH ALL results both become a sorted UID list."""
    assert parse_search(data) == expected


@pytest.mark.parametrize(("uids", "text"), [
    ([1], "1"), ([3, 1, 2], "1:3"), ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"), ([5, 5, 6], "5:6"),
])
def test_compact_set_round_trips(uids: list[int], text: str) -> None:
    """UIDs render as a merged sequence set, and parse back to the same sorted UIDs."""
    assert compact_set(uids) == text
    assert parse_sequence_set(text.encode()) == sorted(set(uids))


def test_compact_set_rejects_empty() -> None:
    """An empty UID set cannot be sent to the server."""
    with pytest.raises(ValueError, match="empty"):
        compact_set([])
