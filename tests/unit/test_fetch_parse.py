"""The streaming UID FETCH reader on crafted server output (io.BytesIO, no sockets), and INTERNALDATE parsing."""

from __future__ import annotations

import imaplib
import io
from datetime import datetime, timedelta, timezone

import pytest

from introd.mailstore.fetch_parse import (
    LITERAL_CHUNK,
    MAX_LINE,
    HeaderFetchReader,
    parse_fetch_items,
    parse_internaldate,
)

TAG = b"ABCD7"
HDR = b"From: a@example.org\r\nMessage-ID: <x@y>\r\n\r\n"
SECTION = b"BODY[HEADER.FIELDS (FROM TO MESSAGE-ID X-INTROD-ACTION)]"
DATE = b'"02-Mar-2026 10:00:00 +0000"'
UTC_10 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
OK = TAG + b" OK Fetch completed (0.001 + 0.000 secs).\r\n"
NEXT = b"* 9 EXISTS\r\nZZ1 OK next command\r\n"  # what follows on the wire: must be left unread


def dovecot(seq: int, uid: int, flags: bytes = b"\\Seen", header: bytes = HDR, size: int = 321) -> bytes:
    """One FETCH response exactly as Dovecot sends it for the header fetch."""
    return (b"* %d FETCH (UID %d FLAGS (%s) INTERNALDATE %s RFC822.SIZE %d %s {%d}\r\n%s)\r\n"
            % (seq, uid, flags, DATE, size, SECTION, len(header), header))


class Untagged:
    """Collects what the reader hands back as imaplib untagged responses."""

    def __init__(self) -> None:
        self.got: list[tuple[str, object]] = []

    def __call__(self, typ: str, dat: bytes | tuple[bytes, bytes]) -> None:
        self.got.append((typ, dat))


def run(wire: bytes, after: int = 0) -> tuple[list[tuple[object, ...]], HeaderFetchReader, bytes]:
    """Read the responses to TAG from ``wire`` (+ NEXT): records as tuples, the reader, what was left unread."""
    stream = io.BufferedReader(io.BytesIO(wire + NEXT), 4096)
    reader = HeaderFetchReader(stream.readline, stream.read, TAG, after, Untagged())
    got: list[tuple[object, ...]] = [(h.uid, h.flags, h.size, h.header_bytes, h.gm_thread_id, h.internaldate)
                                     for h in reader.records]
    return got, reader, stream.read()


def rec(uid: int, flags: tuple[str, ...] = ("\\Seen",), size: int = 321, header: bytes = HDR,
        thread: str | None = None, when: datetime = UTC_10) -> tuple[object, ...]:
    return (uid, flags, size, header, thread, when)


CASES = [
    # (id, server output before the tagged OK, after_uid, expected records)
    ("dovecot shape", dovecot(1, 5) + dovecot(2, 9, b""), 0, [rec(5), rec(9, ())]),
    ("recent dropped", dovecot(1, 5, b"\\Recent \\Draft"), 0, [rec(5, ("\\Draft",))]),
    ("keywords kept", dovecot(1, 5, b"\\Seen $Forwarded NonJunk"), 0, [rec(5, ("\\Seen", "$Forwarded", "NonJunk"))]),
    ("gmail: thread id first",
     b"* 1 FETCH (X-GM-THRID 1234567890123 UID 42 FLAGS () INTERNALDATE %s RFC822.SIZE 7 %s {%d}\r\n%s)\r\n"
     % (DATE, SECTION, len(HDR), HDR), 0, [rec(42, (), 7, thread="1234567890123")]),
    ("gmail: thread id before the section",
     b"* 1 FETCH (UID 42 FLAGS () INTERNALDATE %s RFC822.SIZE 7 X-GM-THRID 99 %s {%d}\r\n%s)\r\n"
     % (DATE, SECTION, len(HDR), HDR), 0, [rec(42, (), 7, thread="99")]),
    ("condstore MODSEQ",
     b"* 1 FETCH (UID 3 MODSEQ (12) FLAGS (\\Seen) INTERNALDATE %s RFC822.SIZE 321 %s {%d}\r\n%s)\r\n"
     % (DATE, SECTION, len(HDR), HDR), 0, [rec(3)]),
    ("items after the literal",
     b"* 1 FETCH (X-GM-THRID 77 FLAGS () %s {%d}\r\n%s INTERNALDATE %s RFC822.SIZE 7 UID 42)\r\n"
     % (SECTION, len(HDR), HDR, DATE), 0, [rec(42, (), 7, thread="77")]),
    ("odd order, lower-case names",
     b"* 1 FETCH (internaldate %s %s {%d}\r\n%s rfc822.size 8 flags (\\Flagged) uid 6)\r\n"
     % (DATE, SECTION, len(HDR), HDR), 0, [rec(6, ("\\Flagged",), 8)]),
    ("quoted header",
     b'* 1 FETCH (UID 3 FLAGS () INTERNALDATE %s RFC822.SIZE 5 %s "Subject: a \\"b\\" \\\\ c")\r\n'
     % (DATE, SECTION), 0, [rec(3, (), 5, b'Subject: a "b" \\ c')]),
    ("empty quoted header", b'* 1 FETCH (UID 3 FLAGS () INTERNALDATE %s RFC822.SIZE 5 %s "")\r\n'
     % (DATE, SECTION), 0, [rec(3, (), 5, b"")]),
    ("NIL header", b"* 1 FETCH (UID 3 FLAGS () INTERNALDATE %s RFC822.SIZE 5 %s NIL)\r\n"
     % (DATE, SECTION), 0, [rec(3, (), 5, b"")]),
    ("partial section", b"* 1 FETCH (UID 3 FLAGS () INTERNALDATE %s RFC822.SIZE 5 BODY[HEADER]<0> {%d}\r\n%s)\r\n"
     % (DATE, len(HDR), HDR), 0, [rec(3, (), 5)]),
    ("header naming UID is not a uid",
     b"* 1 FETCH (FLAGS () INTERNALDATE %s RFC822.SIZE 1 BODY[HEADER.FIELDS (UID 77)] {%d}\r\n%s UID 6)\r\n"
     % (DATE, len(HDR), HDR), 0, [rec(6, (), 1)]),
    ("header with braces and parentheses", dovecot(1, 5, header=b"Subject: (x) {3}\r\n\r\n"), 0,
     [rec(5, header=b"Subject: (x) {3}\r\n\r\n")]),
    ("empty literal", dovecot(1, 5, header=b""), 0, [rec(5, header=b"")]),
    ("no size, no date", b"* 1 FETCH (UID 3 %s {%d}\r\n%s)\r\n" % (SECTION, len(HDR), HDR), 0,
     [rec(3, (), 0, when=datetime(1970, 1, 1, tzinfo=timezone.utc))]),
    ("bad INTERNALDATE: the epoch", dovecot(1, 5).replace(DATE, b'"yesterday"'), 0,
     [rec(5, when=datetime(1970, 1, 1, tzinfo=timezone.utc))]),
    ("N:* answers the last message at or below after_uid", dovecot(3, 7), 7, []),
    ("only UIDs above after_uid", dovecot(3, 7) + dovecot(4, 8), 7, [rec(8)]),
    ("a repeated UID is yielded once", dovecot(1, 5) + dovecot(1, 5, b"\\Flagged"), 0, [rec(5)]),
    ("unsolicited FETCH FLAGS ignored",
     b"* 4 FETCH (FLAGS (\\Seen) UID 11)\r\n* 4 FETCH (UID 11 MODSEQ (5) FLAGS ())\r\n" + dovecot(5, 12), 0,
     [rec(12)]),
    ("unsolicited EXISTS / EXPUNGE / RECENT / OK in between",
     dovecot(1, 5) + b"* 12 EXISTS\r\n* 3 EXPUNGE\r\n* 2 RECENT\r\n* OK [ALERT] hello\r\n" + dovecot(2, 6), 0,
     [rec(5), rec(6)]),
    ("malformed FETCH skipped", b"* 1 FETCH (UID 5 FLAGS (\\Seen) %s {%d}\r\n%s junk\r\n" % (SECTION, len(HDR), HDR)
     + b'* 1 FETCH (UID "unterminated\r\n' + dovecot(2, 6), 0, [rec(6)]),
    ("nothing", b"", 0, []),
]


@pytest.mark.parametrize(("wire", "after", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reader(wire: bytes, after: int, expected: list[tuple[object, ...]]) -> None:
    """Every FETCH answering the header fetch becomes one record; the stream stops right after the tagged OK."""
    got, reader, rest = run(wire + OK, after)
    assert got == expected
    assert reader.done
    assert rest == NEXT  # nothing of the next response was consumed


def test_unsolicited_responses_go_to_imaplib() -> None:
    """Untagged responses other than FETCH are handed back in imaplib's untagged_responses form."""
    wire = (dovecot(1, 5) + b"* 12 EXISTS\r\n* 3 EXPUNGE\r\n* OK [ALERT] hello\r\n* FLAGS (\\Seen x)\r\n"
            b"* LIST () \"/\" {5}\r\nINBOX\r\n" + dovecot(2, 6) + TAG + b" OK [EXPUNGEISSUED] done\r\n")
    stream = io.BufferedReader(io.BytesIO(wire))
    untagged = Untagged()
    reader = HeaderFetchReader(stream.readline, stream.read, TAG, 0, untagged)
    assert [h.uid for h in reader.records] == [5, 6]
    assert untagged.got == [
        ("EXISTS", b"12"), ("EXPUNGE", b"3"), ("OK", b"[ALERT] hello"), ("ALERT", b""),
        ("FLAGS", b"(\\Seen x)"), ("LIST", (b'() "/" {5}', b"INBOX")), ("LIST", b""), ("EXPUNGEISSUED", b""),
    ]


def test_a_dovecot_stream_parses_like_the_general_parser() -> None:
    """The fast path and the tokenizer agree on the common shape."""
    line = dovecot(1, 5, b"\\Seen \\Recent")
    first, rest = line.split(b"\r\n", 1)
    items = parse_fetch_items([(first, HDR), (b")", None)])
    assert items[b"UID"] == b"5" and items[b"FLAGS"] == [b"\\Seen", b"\\Recent"]
    assert items[b"INTERNALDATE"] == b"02-Mar-2026 10:00:00 +0000" and items[SECTION] == HDR
    assert rest == HDR + b")\r\n"


def test_huge_literal_is_read_in_pieces() -> None:
    """A literal above LITERAL_CHUNK (in the fast path or the general one) comes back whole."""
    big = b"X-Long: " + b"a" * (LITERAL_CHUNK * 2 + 123) + b"\r\n\r\n"
    odd = b"* 2 FETCH (%s {%d}\r\n%s UID 9)\r\n" % (SECTION, len(big), big)
    got, _, rest = run(dovecot(1, 5, header=big) + odd + OK)
    assert [(g[0], g[3]) for g in got] == [(5, big), (9, big)]
    assert rest == NEXT


@pytest.mark.parametrize("status", [b"NO", b"BAD"])
def test_tagged_failure_raises_after_the_completion(status: bytes) -> None:
    """A tagged NO/BAD raises imaplib's error once the records before it were yielded; the stream is in sync."""
    stream = io.BufferedReader(io.BytesIO(dovecot(1, 5) + TAG + b" " + status + b" [SERVERBUG] oops\r\n" + NEXT))
    reader = HeaderFetchReader(stream.readline, stream.read, TAG)
    got = []
    with pytest.raises(imaplib.IMAP4.error, match=f"UID FETCH failed: {status.decode()}") as info:
        for record in reader.records:
            got.append(record.uid)
    assert not isinstance(info.value, imaplib.IMAP4.abort)
    assert got == [5] and reader.done and stream.read() == NEXT


@pytest.mark.parametrize(("wire", "message"), [
    (b"", "EOF"),
    (dovecot(1, 5), "EOF"),  # the tagged completion never comes
    (dovecot(1, 5)[:40], "unterminated line"),
    (dovecot(1, 5)[:-20], "EOF in a"),  # cut inside the literal
    (dovecot(1, 5)[:-2], "unterminated line"),  # cut in the closing line
    (b"* 1 FETCH (UID 5 BODY[] {10}\r\n)\r\n", "EOF in a"),
    (b"* 1 FETCH (UID 5 BODY[] {1}\r\nx", "EOF"),
    (b"* BYE shutting down\r\n", "shutting down"),
    (b"+ go ahead\r\n", "continuation"),
    (b"ZZ9 OK not ours\r\n", "unexpected response"),
    (b"garbage\r\n", "unexpected response"),
])
def test_broken_stream_aborts(wire: bytes, message: str) -> None:
    """A connection that ends, a BYE or a non-IMAP line raises imaplib's abort, never yields a partial record."""
    stream = io.BufferedReader(io.BytesIO(wire))
    reader = HeaderFetchReader(stream.readline, stream.read, TAG)
    got = []
    with pytest.raises(imaplib.IMAP4.abort, match=message):
        for record in reader.records:
            got.append(record)
    assert not reader.done
    assert all(r.header_bytes == HDR for r in got)


def test_overlong_line_is_an_error() -> None:
    """A line longer than imaplib's limit is refused (as imaplib does) instead of filling memory."""
    wire = b"* 1 FETCH (UID 5 FLAGS (" + b"a " * MAX_LINE + b")\r\n" + OK
    stream = io.BufferedReader(io.BytesIO(wire))
    reader = HeaderFetchReader(stream.readline, stream.read, TAG)
    with pytest.raises(imaplib.IMAP4.error, match="got more than"):
        list(reader.records)


def test_discard_drains_without_records() -> None:
    """With ``discard`` set, the rest of the answer is read and dropped, up to and including the tagged OK."""
    stream = io.BufferedReader(io.BytesIO(dovecot(1, 5) + dovecot(2, 6) + dovecot(3, 7) + OK + NEXT))
    reader = HeaderFetchReader(stream.readline, stream.read, TAG)
    first = next(reader.records)
    reader.discard = True
    assert first.uid == 5 and list(reader.records) == [] and reader.done
    assert stream.read() == NEXT


@pytest.mark.parametrize("segments", [
    [(b"* 1 FETCH UID 5", None)],
    [(b"* 1 FETCH (UID 5", None)],
    [(b"* 1 FETCH (UID 5) extra", None)],
    [(b"* 1 FETCH (UID)", None)],
    [(b"* 1 FETCH (\"UID\" 5)", None)],
    [(b"* 1 FETCH (FLAGS (a (b)", None)],
    [(b"* 1 FETCH (UID 5 FLAGS ) )", None)],
    [(b"* X FETCH (UID 5)", None)],
    [(b"* 1 FETCH (UID 5 {x)", None)],
    [(b"* 1 FETCH (" + b"FLAGS " + b"(" * 30 + b")" * 30 + b")", None)],
])
def test_parse_fetch_items_rejects_malformed(segments: list[tuple[bytes, bytes | None]]) -> None:
    """Malformed FETCH responses raise ValueError (the reader logs and skips them)."""
    with pytest.raises(ValueError):
        parse_fetch_items(segments)


DATE_CASES = [
    (b"02-Mar-2026 10:00:00 +0000", datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)),
    (b" 2-Mar-2026 10:00:00 +0100", datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))),
    (b"31-Dec-1999 23:59:59 -0530",
     datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    (b"01-JAN-2020 00:00:00 +0000", datetime(2020, 1, 1, tzinfo=timezone.utc)),
    (b"01-Jan-2020 00:00:00 -0000", datetime(2020, 1, 1, tzinfo=timezone.utc)),
    (b"7-Jul-2021 01:02:03 +0200", datetime(2021, 7, 7, 1, 2, 3, tzinfo=timezone(timedelta(hours=2)))),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_parse_internaldate(raw: bytes, expected: datetime) -> None:
    """An RFC 3501 date-time (space-padded day allowed) becomes an aware datetime with its offset, the first
    time (general parser) and the second (fixed-width fast path) alike."""
    for _ in range(2):
        got = parse_internaldate(raw)
        assert got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("raw", [b"", b"02-Foo-2026 10:00:00 +0000", b"02-Mar-2026 10:00 +0000", b"garbage",
                                 b"02-Mar-2026 1x:00:00 +0000", b"02-Mar-2026 10:00:61 +0000",
                                 b"02-Mar-2026 10:00:00 0000 ", b"02-Mar-2026 10:00:00 +00x0",
                                 b"30-Feb-2026 10:00:00 +0000"])
def test_parse_internaldate_rejects_garbage(raw: bytes) -> None:
    """A malformed INTERNALDATE raises ValueError naming the value (also once its day and zone are cached)."""
    parse_internaldate(b"02-Mar-2026 09:00:00 +0000")
    with pytest.raises(ValueError, match="INTERNALDATE"):
        parse_internaldate(raw)
