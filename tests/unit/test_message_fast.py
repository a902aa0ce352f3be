"""The fast paths of introd.message give what the general paths give: dates, header blocks, ids, address lists,
Message construction and MIME bodies (the fast path against mail-parser)."""

from __future__ import annotations

import base64
import dataclasses
import pickle
import re
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from introd import message as m
from introd.message import EPOCH_FALLBACK, Message, Skipped, parse_headers, parse_message

# --- dates ----------------------------------------------------------------------------------------------------


def stdlib_date(value: str) -> datetime | type[Exception]:
    """``_aware(parsedate_to_datetime(value))``, or the type of the exception it raises."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        return type(exc)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def fast_date(value: str) -> datetime | type[Exception] | None:
    """``_fast_date(value)``, or the type of the exception it raises."""
    try:
        return m._fast_date(value)
    except ValueError as exc:
        return type(exc)


def same(a: object, b: object) -> bool:
    """Equal, and for datetimes also the same UTC offset (== alone accepts the same instant in another zone)."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


FAST_DATES = [
    "Tue, 3 Mar 2026 10:00:00 +0100",
    "3 Mar 2026 10:00:00 +0100",
    "Tue, 03 Mar 2026 10:00 +0100",  # no seconds
    "Tue,3 Mar 2026 10:00:00 +0100",
    "Tue,  3 Mar 2026 10:00:00 +0100",
    "Tuesday, 3 Mar 2026 10:00:00 +0100",
    "Foo, 3 Mar 2026 10:00:00 +0100",  # the stdlib never checks the day name
    "Tue, 3 Mar 2026 10:00:00 -0000",  # UTC, sender's zone unknown
    "Tue, 3 Mar 2026 10:00:00 +0000",
    "Tue, 3 Mar 2026 10:00:00 -0530",
    "Tue, 3 Mar 2026 10:00:00 +0160",  # not range-checked: two hours
    "Tue, 3 Mar 2026 10:00:00 +2359",
    "Tue, 3 Mar 2026 10:00:00 GMT",
    "Tue, 3 Mar 2026 10:00:00 gmt",
    "Tue, 3 Mar 2026 10:00:00 UT",
    "Tue, 3 Mar 2026 10:00:00 Z",
    "Tue, 3 Mar 2026 10:00:00 EST",
    "Tue, 3 Mar 2026 10:00:00 pdt",
    "Tue, 3 Mar 2026 10:00:00 CEST",  # unknown name: UTC
    "Tue, 3 Mar 2026 10:00:00",  # no zone: UTC
    "Tue, 3 Mar 2026 10:00:00 +0100 (CET)",
    "Tue, 3 Mar 2026 10:00:00 GMT (UTC) trailing words",
    "3 Mar 26 10:00:00 +0000",
    "3 Mar 69 10:00:00 +0000",
    "3 Mar 68 10:00:00 +0000",
    "3 Mar 99 10:00:00 +0000",
    "3 Mar 00 10:00:00 +0000",
    "3 Mar 0000 10:00:00 +0000",
    "3 Mar 0099 10:00:00 +0000",
    "3 Mar 1969 10:00:00 +0000",
    "3 March 2026 10:00:00 +0000",
    "3 MAR 2026 10:00:00 +0000",
    "3 mAr 2026 10:00:00 +0000",
    "3 Sep 2026 10:00:00 +0000",
    "3 september 2026 10:00:00 +0000",
    "3\tMar\t2026\t10:00:00\t+0100",
    "3 Mar 2026 1:2:3 +0100",
    "29 Feb 2028 23:59:59 -1200",
]
VALUE_ERROR_DATES = [
    "31 Feb 2026 10:00:00 +0000",
    "0 Mar 2026 10:00:00 +0000",
    "3 Mar 2026 24:00:00 +0000",
    "3 Mar 2026 10:60:00 +0000",
    "3 Mar 2026 10:00:60 +0000",  # a leap second is beyond datetime too
    "3 Mar 2026 10:00:00 +2400",
    "3 Mar 2026 10:00:00 -9999",
]
SLOW_DATES = [
    "Mar 3 2026 10:00:00 +0100",  # month first: the stdlib swaps
    "3-Mar-2026 10:00:00 +0100",
    "Tue 3 Mar 2026 10:00:00 +0100",
    "3 Mar 2026 10.00.00 +0100",
    "3 Mar 2026 10:00:00+0100",
    "2026-03-03T10:00:00Z",
    "3 Mrz 2026 10:00:00 +0100",
    "3 Mar 2026 10:00:00 +01:00",
    "3 Mar 2026 10:00:00 +0100\x0bjunk",
    "3\xa0Mar 2026 10:00:00 +0100",
    "\u0663 Mar 2026 10:00:00 +0100",  # an Arabic-Indic digit
    "3 Mar 2026, 10:00:00 +0100",
    "",
    "junk",
]


@pytest.mark.parametrize("value", FAST_DATES)
def test_fast_date_equals_stdlib(value: str) -> None:
    """A canonical date takes the fast path and gives the stdlib's datetime, zone included."""
    got = fast_date(value)
    assert isinstance(got, datetime)
    assert same(got, stdlib_date(value))


@pytest.mark.parametrize("value", VALUE_ERROR_DATES)
def test_fast_date_raises_where_stdlib_raises(value: str) -> None:
    """An out-of-range day, hour or zone raises ValueError on both paths."""
    assert fast_date(value) is ValueError
    assert stdlib_date(value) is ValueError


@pytest.mark.parametrize("value", SLOW_DATES)
def test_other_date_shapes_go_to_stdlib(value: str) -> None:
    """Anything beyond the strict shape is left to the stdlib, and _date still gives its answer."""
    assert m._fast_date(value) is None
    expected = stdlib_date(value)
    if isinstance(expected, datetime) and expected.year >= m.MIN_YEAR:
        assert same(m._date(value, None)[0], expected)
    else:
        assert m._date(value, None) == (EPOCH_FALLBACK, "none")


@pytest.mark.parametrize("value", FAST_DATES + VALUE_ERROR_DATES)
def test_date_field_reads_like_stdlib(value: str) -> None:
    """_date with header white space around the value (a CRLF block leaves " ...\\r") agrees with the stdlib."""
    expected = stdlib_date(value)
    got, source = m._date(f" {value}\r", None)
    if isinstance(expected, datetime) and expected.year >= m.MIN_YEAR:
        assert (same(got, expected), source) == (True, "header")
    else:
        assert (got, source) == (EPOCH_FALLBACK, "none")


_DATE_PARTS = st.tuples(
    st.sampled_from(["", "Mon, ", "Sun,", "Xyz,  ", "Mon ", "Mon , "]),
    st.integers(0, 40).map(str) | st.sampled_from(["07", "007", "3,"]),
    st.sampled_from([" ", "  ", "\t", "-", "\xa0"]),
    st.sampled_from(["Jan", "feb", "MAR", "April", "may", "Jun", "july", "AUG", "Sept", "oct", "Nov", "dec", "Foo"]),
    st.integers(0, 2200).map(str) | st.sampled_from(["00", "68", "69", "099", "2026,"]),
    st.integers(0, 25).map(str),
    st.integers(0, 61).map(lambda i: f"{i:02d}"),
    st.sampled_from(["", ":00", ":7", ":59", ":60", ".00", ":000"]),
    st.sampled_from(["", " +0000", " -0000", " +0100", " -0830", " +2400", " +9959", " GMT", " est", " CEST",
                     " Z", " +01:00", " (CET)", " +0100 (CET)", "+0100", " +100", " gmt junk", " +0000\r"]),
)


@settings(max_examples=500, deadline=None)
@given(_DATE_PARTS)
def test_fast_date_never_disagrees_with_stdlib(parts: tuple[str, ...]) -> None:
    """On generated dates the fast path either declines or gives exactly the stdlib's answer."""
    day_name, day, sep, month, year, hour, minute, second, zone = parts
    value = f"{day_name}{day}{sep}{month} {year} {hour}:{minute}{second}{zone}".strip()
    got = fast_date(value)
    if got is not None:
        assert same(got, stdlib_date(value)), value


# --- header blocks -----------------------------------------------------------------------------------------


def both_splits(block: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(fast split of a UTF-8 block, the per-value split of the same header section)."""
    return m._split_header_block(block), m._split_header_bytes(m._header_section(block))


ODD_BLOCKS = [
    b"From: a@b.c\r\nTo: Bob <bob@y.com>,\r\n Ann <ann@z.com>,\r\n\tCy <cy@w.com>\r\nSubject: Hi\r\n\r\n",
    b"From: a@b.c\nTo: b@c.d\nSubject: LF only\n\n",
    b"From: a@b.c\rTo: b@c.d\rSubject: CR only\r\r",
    b"From: a@b.c\r\nSubject: mixed\nTo: b@c.d\r\n\r\n",
    b"Subject: first\r\nsubject: second\r\nSUBJECT: third\r\nTo: x@y\r\nTO: z@y\r\n\r\n",
    "From: Jörg <j@x.de>\r\nSubject: Grüße\r\n\r\n".encode(),
    b"Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\nFrom: =?utf-8?B?SsO2cmc=?= <j@x.de>\r\n\r\n",
    b"X-Spam: yes\r\nReceived: from x\r\n\tby y\r\n\r\n",  # no wanted field
    b"Subject : spaced\r\nFrom\t: tabbed\r\n\r\n",
    b"Subject\r\n : not a field\r\nFrom: a@b.c\r\n\r\n",
    b" From: continuation first\r\nTo: b@c.d\r\n\r\n",
    b"junk line\r\n\tfrom: folded junk\r\nTo: b@c.d\r\n\r\n",
    b"From: a@b.c\r\n\r\nTo: after the blank line\r\n\r\n",
    b"From: a@b.c\n\r\nTo: after a CRLF blank line\r\n",
    b"X-Introd-Action: draft\r\nX-Introd-Foo Bar: x\r\nx-introd-: empty\r\nX-INTROD-Odd!~: y\r\n\r\n",
    b"To\x00: nul in name\r\nSubject: a\rb\x00c\r\n\r\n",
    b"Subject: a\r\r\n b\r\n\r\n",
    b"From: no final line end",
    b"x:\r\n" * 3800 + b"From: a@b.c\r\nReceived: x\r\n\ty\r\n" * 30 + b"\r\n",  # just under _FAST_SPLIT_MAX
    b"",
    b"\r\n\r\n",
    b"Message-ID: <a@b>\r\nIn-Reply-To: <c@d>\r\nReferences: <e@f>\r\n <c@d>\r\nList-Id: <l.x>\r\nPrecedence: bulk\r\n"
    b"Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\nContent-Type: text/plain\r\n"
    b"Content-Class: urn:content-classes:calendarmessage\r\nX-GM-THRID: 1\r\nX-LinkedIn-Class: INMAIL\r\n"
    b"Reply-To: r@s.t\r\nCc: c@d.e\r\nDate: Mon, 2 Mar 2026 11:00:00 +0100\r\nList-Unsubscribe: <u>\r\n\r\n",
]


@pytest.mark.parametrize("block", ODD_BLOCKS)
def test_fast_header_split_equals_per_value_split(block: bytes) -> None:
    """Folded, duplicate, CR-only, spaced, junk and cut-off blocks split the same way on both paths."""
    fast, slow = both_splits(block)
    assert fast == slow
    assert list(fast) == list(slow)  # the order decides the order of Message.headers


def test_header_split_keeps_first_and_unfolds() -> None:
    """The fast split keeps the first of duplicate fields and unfolds continuation lines."""
    fields = m._split_header_block(ODD_BLOCKS[0] + b"To: second@x\r\n")
    assert fields["to"] == " Bob <bob@y.com>, Ann <ann@z.com>,\tCy <cy@w.com>\r"
    assert list(fields) == ["from", "to", "subject"]


def test_spellings_map_to_wanted_names() -> None:
    """Each spelling in the lookup table stands for its own lower case, a wanted field name."""
    assert all(key == spelling.lower() and key in m._WANTED for spelling, key in m._SPELLINGS.items())
    assert {"Message-ID", "From", "TO", "Cc", "X-LinkedIn-Class", "In-Reply-To"} <= m._SPELLINGS.keys()


def test_non_utf8_block_takes_the_per_value_path() -> None:
    """A Latin-1 value makes the block invalid UTF-8: values are then decoded one by one."""
    fields = m._split_header_block(b"From: J\xf6rg <j@x.de>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\n")
    assert fields == {"from": " Jörg <j@x.de>\r", "subject": " Grüße\r"}


def test_block_cut_inside_a_character_still_parses() -> None:
    """A block cut at MAX_HEADER_BYTES inside a UTF-8 character falls back to the per-value path."""
    block = b"From: a@b.c\r\nSubject: " + "é".encode() * m.MAX_HEADER_BYTES
    result = parse_headers(block, folder="INBOX")
    assert isinstance(result, Message)
    assert result.subject.startswith("é")


_BLOCK_PIECES = st.sampled_from([
    "From", "to", "CC", "Subject", "Message-ID", "References", "X-Introd-A", "x-introd-", "List-Id", "Received",
    ":", ": ", " :", "\t", " ", "\r\n", "\n", "\r", "\r\n ", "\n\t", "\r\n\r\n", "<a@b>", "é", "=?utf-8?q?x?=",
    "\x00", "a", ",", "X-Introd-é",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_BLOCK_PIECES, max_size=40))
def test_generated_blocks_split_the_same(pieces: list[str]) -> None:
    """Generated header-shaped text splits the same way on both paths."""
    fast, slow = both_splits("".join(pieces).encode())
    assert fast == slow
    assert list(fast) == list(slow)


# --- ids, address lists, cleaning ------------------------------------------------------------------------------


def reference_ids(value: str | None) -> tuple[str, ...]:
    """Message ids as the general loop of _ids reads them (its fast paths must agree)."""
    if not value:
        return ()
    out: list[str] = []
    for raw in m._BRACKETED_ID.findall(value) or m._BARE_ID.findall(value):
        ident = m._clean(raw, m.MAX_ID)
        if ident and ident not in out:
            out.append(ident)
    if len(out) > m.MAX_REFERENCES:
        out = out[:1] + out[-(m.MAX_REFERENCES - 1):]
    return tuple(out)


@pytest.mark.parametrize("value", [
    " <a@b.c>\r", "<a@b.c>", "< a@b.c >", "<a b@c>", "<>", "<<a@b>>", "<a@b><c@d>", " <a@b> <c@d>\r\n <a@b>\r",
    "<a\x00b@c>", "<é@x>", "<" + "a" * 250 + ">", "<" + "a" * 251 + ">", "bare@id.x", "junk <a@b> more",
    " ".join(f"<r{i}@x>" for i in range(150)), "<a@b>\u2028", "\u2028<a@b>", "<a\u2028b>",
])
def test_ids_fast_paths_equal_general_loop(value: str) -> None:
    """Single and multiple bracketed ids, junk, controls, duplicates and long lists read as the general loop does."""
    assert m._ids(value) == reference_ids(value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(["<", ">", "a", "@", " ", "\t", "\r", "\x00", "é", ",", "\u2028", "\xa0"]),
               max_size=30))
def test_generated_ids_equal_general_loop(value: str) -> None:
    """Generated id fields read as the general loop reads them."""
    assert m._ids(value) == reference_ids(value)


# _LIST_ELEMENT before its last branch took a run of characters.
ONE_CHARACTER_LIST_ELEMENT = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|<[^<>]*>?|[^,"<])+')


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(['"', "<", ">", ",", "\\", "a", " ", "\n", "@", ";", "é"]), max_size=30))
def test_list_elements_unchanged(value: str) -> None:
    """The address-list splitter finds the same elements as the one-character-at-a-time pattern."""
    assert m._LIST_ELEMENT.findall(value) == ONE_CHARACTER_LIST_ELEMENT.findall(value)
    assert [e for e in m._list_elements(value) if e.strip()] == [
        e for e in ONE_CHARACTER_LIST_ELEMENT.findall(value) if e.strip()]


@pytest.mark.parametrize("value", [
    "Bob <bob@y.com>, Ann <ann@z.com>", "a@b.c,,d@e.f, ", "<a,b@c>, d@e", "x <a@b, y <c@d>",
    '"Smith, J" <j@s.com>, k@l', "<a@b>>, c@d", "a <b> c, d", "",
])
def test_list_elements_of_common_lists(value: str) -> None:
    """Lists with and without protected commas split into _LIST_ELEMENT's elements."""
    assert [e for e in m._list_elements(value) if e.strip()] == [
        e for e in m._LIST_ELEMENT.findall(value) if e.strip()]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\r", "\n", "\t", "\x00", "\u2028", "\xa0", "é"]),
               max_size=20), st.integers(1, 8))
def test_clean_equals_its_definition(value: str, cap: int) -> None:
    """_clean's shortcuts (printable text, a trailing CR) give its definition: controls to spaces, collapsed, capped."""
    assert m._clean(value, cap) == " ".join(m._CONTROL.sub(" ", value).split())[:cap]


# --- Message construction ---------------------------------------------------------------------------------------

FULL_BLOCK = ODD_BLOCKS[-1].replace(b"\r\n\r\n", b"\r\nFrom: K <k@x.com>\r\nTo: a@b.c\r\nSubject: Hi\r\n\r\n")


def test_header_record_is_a_complete_frozen_message() -> None:
    """parse_headers builds a real frozen Message holding every field, equal to one built by its constructor."""
    msg = parse_headers(FULL_BLOCK, folder="INBOX", uid=3, flags=("\\Seen",))
    assert isinstance(msg, Message)
    assert set(vars(msg)) == {f.name for f in dataclasses.fields(Message)}
    rebuilt = Message(**vars(msg))
    assert rebuilt == msg
    assert hash(rebuilt) == hash(msg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.subject = "changed"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(msg)) == msg  # noqa: S301 - our own bytes
    assert dataclasses.replace(msg, uid=4) == Message(**{**vars(msg), "uid": 4})
    full = parse_message(FULL_BLOCK + b"Hello\r\n")
    assert isinstance(full, Message)
    assert set(vars(full)) == set(vars(msg))
    assert full.has_body


# --- bodies: the fast path against mail-parser ------------------------------------------------------------------

HEAD = "From: Kathy <kathy@x.com>\nTo: Bob <bob@y.com>\nSubject: Coffee\nMessage-ID: <m@x.com>\n" \
       "Date: Mon, 2 Mar 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
ICS = "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n"
B64_UTF8 = base64.encodebytes("Grüße aus Köln – bis bald.\n".encode()).decode()
B64_UTF16 = base64.encodebytes("Hallo Welt".encode("utf-16")).decode()


def alternative(plain: str, html: str, boundary: str = "alt") -> str:
    """A multipart/alternative entity of a text/plain and a text/html part."""
    return (f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n--{boundary}\n'
            f'Content-Type: text/plain; charset="utf-8"\n\n{plain}\n--{boundary}\n'
            f'Content-Type: text/html; charset="utf-8"\n\n{html}\n--{boundary}--\n')


FAST_BODIES = {
    "plain 7bit": 'Content-Type: text/plain; charset="us-ascii"\nContent-Transfer-Encoding: 7bit\n\nHi Bob.\n',
    "plain no headers": "\nJust text, no MIME headers.\n",
    "plain 8bit utf-8": "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße, Jörg\n",
    "plain 8bit no charset": "Content-Type: text/plain\n\nCafé crème\n",
    "plain quoted-printable": "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable"
                              "\n\nThanks =E2=80=93 happy to con=\nnect!\n",
    "plain base64": f"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n{B64_UTF8}",
    "plain base64 utf-16": "Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: BASE64\n\n"
                           + B64_UTF16,
    "plain latin-1": "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
                     "Gr=FC=DFe\n",
    "plain unknown charset": "Content-Type: text/plain; charset=x-bogus\nContent-Transfer-Encoding: 8bit\n\nGrüße\n",
    "plain empty charset": 'Content-Type: text/plain; charset=""\nContent-Transfer-Encoding: 8bit\n\nGrüße\n',
    "plain binary": "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: binary\n\nGrüße\n",
    "plain folded type": 'Content-Type: text/plain;\n\tcharset="utf-8";\n format=flowed\n\nHi.\n',
    "plain upper type": "Content-Type: TEXT/PLAIN; CHARSET=UTF-8\n\nHi.\n",
    "plain duplicate charset": "Content-Type: text/plain; charset=utf-8; charset=latin-1\n\nGrüße\n",
    "html only": 'Content-Type: text/html; charset="utf-8"\n\n<p>Bob, meet <b>Ann</b> &amp; team.</p>\n',
    "alternative": alternative("Plain words win.", "<p>HTML words</p>"),
    "alternative empty plain": alternative(" ", "<p>Only the HTML has words</p>"),
    "alternative LF boundary spaces": alternative("Plain", "<p>x</p>", boundary="a b=c"),
    "alternative preamble epilogue": 'Content-Type: multipart/alternative; boundary=b\n\nThis is a preamble.\n--b\n'
                                     'Content-Type: text/plain\n\nPlain.\n--b\nContent-Type: text/html\n\n<p>H</p>\n'
                                     '--b--  \nepilogue\n--b\nContent-Type: text/plain\n\nnot a part\n',
    "alternative white space after delimiters": "Content-Type: multipart/alternative; boundary=b\n\n--b \t\n"
                                                "Content-Type: text/plain\n\nPlain.\n--b--\t\n",
    "mixed with attachment": 'Content-Type: multipart/mixed; boundary="mix"\n\n--mix\n'
                             + alternative("Plain and attached.", "<p>h</p>")
                             + '--mix\nContent-Type: application/pdf; name="a.pdf"\nContent-Disposition: attachment; '
                               'filename="a.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--mix--\n',
    "mixed two text parts": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nOne.\n"
                            "--m\nContent-Type: text/plain\n\nTwo.\n--m--\n",
    "text attachment is not body": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\n"
                                   "Body.\n--m\nContent-Type: text/plain\nContent-Disposition: attachment; "
                                   'filename="notes.txt"\n\nAttached notes.\n--m--\n',
    "attachment without filename": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\n"
                                   "Body.\n--m\nContent-Type: text/plain\nContent-Disposition: attachment\n\n"
                                   "No.\n--m--\n",
    "inline text with filename": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n"
                                 'Content-Disposition: inline; filename="body.txt"\n\nInline body.\n--m--\n',
    "name parameter is a filename": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\n"
                                    'Body.\n--m\nContent-Type: text/plain; name="x.txt"\n\nNot body.\n--m--\n',
    "calendar part": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nSee invite.\n"
                     f"--m\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\n\n{ICS}--m--\n",
    "ics attachment": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nSee invite.\n"
                      '--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; '
                      f'filename="Invite.ICS "\n\n{ICS}--m--\n',
    "application/ics": f"Content-Type: application/ics\n\n{ICS}",
    "calendar only": f"Content-Type: text/calendar; charset=utf-8\n\n{ICS}",
    "related nested": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: multipart/related; "
                      "boundary=r\n\n--r\n" + alternative("Deep plain.", "<p>d</p>", boundary="a")
                      + "--r\nContent-Type: image/png\nContent-ID: <i@x>\n\niVBORw0KGgo=\n--r--\n--m--\n",
    "empty part body": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\n\n"
                       "--m\nContent-Type: text/plain\n\nSecond.\n--m--\n",
    "part without headers": "Content-Type: multipart/mixed; boundary=m\n\n--m\n\nDefault text/plain.\n--m--\n",
    "boundary token with =": "Content-Type: multipart/alternative; boundary=----=_Part_0_1.2\n\n--"
                             "----=_Part_0_1.2\nContent-Type: text/plain\n\nQ.\n------=_Part_0_1.2--\n",
    "form-data disposition": "Content-Type: text/plain\nContent-Disposition: form-data\n\nStill body.\n",
    "rtf part": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/rtf\n\n{\\rtf1}\n--m\n"
                "Content-Type: text/plain\n\nPlain.\n--m--\n",
}
UNSUPPORTED_BODIES = {
    "forwarded message": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: message/rfc822\n\n"
                         "Subject: inner\n\nInner text.\n--m--\n",
    "digest": "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n\nDigest entry.\n--d--\n",
    "no boundary": "Content-Type: multipart/mixed\n\n--m\nContent-Type: text/plain\n\nx\n--m--\n",
    "no start delimiter": "Content-Type: multipart/mixed; boundary=m\n\nText without parts.\n",
    "no close delimiter": "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nCut off.\n",
    "close delimiter first": "Content-Type: multipart/mixed; boundary=m\n\n--m--\n--m\n\nx\n--m--\n",
    "adjacent delimiters": "Content-Type: multipart/mixed; boundary=m\n\n--m\n--m\nContent-Type: text/plain\n\nx\n"
                           "--m--\n",
    "part header without empty line": "Content-Type: multipart/mixed; boundary=m\n\n--m\n"
                                      "Content-Type: text/plain\n--m--\n",
    "lone CR": "Content-Type: text/plain\n\nOne\rTwo\n",
    "bad base64 padding": "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nR3LDvMOfZQ\n",
    "bad base64 character": "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nR3LD!vMOfZQ==\n",
    "uuencode": "Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n`\nend\n",
    "cte with trailing space": "Content-Type: text/plain\nContent-Transfer-Encoding: base64 \n\nSGk=\n",
    "RFC 2231 filename": "Content-Type: text/plain\nContent-Disposition: attachment; filename*=utf-8''x.ics\n\nx\n",
    "encoded-word filename": 'Content-Type: text/plain\nContent-Disposition: attachment; filename="=?utf-8?q?x?="\n\n'
                             "x\n",
    "8-bit header": 'Content-Type: text/plain; name="Grüße.txt"\n\nx\n',
    "attached multipart": "Content-Type: multipart/mixed; boundary=m\nContent-Disposition: attachment\n\n--m\n\nx\n"
                          "--m--\n",
    "application/html": "Content-Type: application/html\n\n<p>x</p>\n",
    "invalid type": "Content-Type: text\n\nx\n",
    "escaped quote in parameter": 'Content-Type: text/plain; charset="utf\\"8"\n\nx\n',
    "too deep": "".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(6)) + "\nx\n"
                + "".join(f"--b{i}--\n" for i in reversed(range(6))),
}


def mime_of(body: str) -> bytes:
    """The MIME-only message _body_text receives for HEAD plus ``body`` with CRLF line ends."""
    raw = (HEAD + body).replace("\n", "\r\n").encode("utf-8")
    return m._split_raw(raw)[1]


@pytest.mark.parametrize("name", FAST_BODIES)
def test_fast_body_equals_mail_parser(name: str) -> None:
    """Each common MIME shape takes the fast path and gives mail-parser's text and calendar flag."""
    mime = mime_of(FAST_BODIES[name])
    assert m._fast_body_text(mime) == m._mailparser_body_text(mime)


@pytest.mark.parametrize("name", FAST_BODIES)
def test_fast_body_equals_mail_parser_with_lf(name: str) -> None:
    """The same shapes with bare LF line ends agree too."""
    mime = mime_of(FAST_BODIES[name]).replace(b"\r\n", b"\n")
    assert m._fast_body_text(mime) == m._mailparser_body_text(mime)


@pytest.mark.parametrize("name", UNSUPPORTED_BODIES)
def test_unusual_body_goes_to_mail_parser(name: str) -> None:
    """Shapes the fast path cannot vouch for are declined and read by mail-parser."""
    mime = mime_of(UNSUPPORTED_BODIES[name])
    with pytest.raises(m._Unsupported):
        m._fast_body_text(mime)
    assert m._body_text(mime) == m._mailparser_body_text(mime)


def test_fast_body_results() -> None:
    """Spot checks that the shared answers are the right ones, not just the same ones."""
    assert m._fast_body_text(mime_of(FAST_BODIES["alternative"])) == ("Plain words win.", False)
    assert m._fast_body_text(mime_of(FAST_BODIES["plain quoted-printable"]))[0] == "Thanks – happy to connect!\r\n"
    assert m._fast_body_text(mime_of(FAST_BODIES["alternative empty plain"])) == ("Only the HTML has words", False)
    assert m._fast_body_text(mime_of(FAST_BODIES["ics attachment"])) == ("See invite.", True)
    assert m._fast_body_text(mime_of(FAST_BODIES["text attachment is not body"]))[0] == "Body."


def without_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the fast path decline every body, so that mail-parser reads them all."""

    def decline(mime: bytes) -> tuple[str, bool]:
        raise m._Unsupported

    monkeypatch.setattr(m, "_fast_body_text", decline)


@pytest.mark.parametrize("name", FAST_BODIES)
def test_parse_message_same_with_and_without_fast_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_message returns an equal Message whether or not the fast path reads the body."""
    raw = (HEAD + FAST_BODIES[name]).replace("\n", "\r\n").encode("utf-8")
    fast = parse_message(raw, uid=1)
    without_fast_path(monkeypatch)
    assert fast == parse_message(raw, uid=1)


_LEAF_TYPES = st.sampled_from(["text/plain", "text/html", "text/calendar", "application/pdf", "TEXT/PLAIN",
                               "message/rfc822", "application/plain", "text"])
_CHARSETS = st.sampled_from(["", "; charset=utf-8", '; charset="iso-8859-1"', "; charset=x-bogus", "; charset=utf-16",
                             '; charset=""', '; name="i.ics"', "; charset*=utf-8''x"])
_CTES = st.sampled_from(["", "7bit", "8bit", "quoted-printable", "base64", "binary", "x-uuencode", "base64 "])
_DISPOSITIONS = st.sampled_from(["", "inline", "attachment", 'attachment; filename="a.txt"',
                                 'inline; filename="b.ics"', "attachment; filename*=x"])
_TEXTS = st.sampled_from(["Hello Bob", "Grüße", "", " ", "a=\nb =E2=80=93", "SGVsbG8=", "SGVsbG8", "<p>x</p>", "\x00"])


@st.composite
def _entities(draw: st.DrawFn, depth: int = 0) -> str:
    """A MIME entity: a leaf of random headers and text, or (shallowly) a multipart of such entities."""
    if depth < 2 and draw(st.booleans()):
        boundary = draw(st.sampled_from(["b", "b b", "=_b", "b1"])) + str(depth)
        parts = draw(st.lists(_entities(depth + 1), max_size=3))
        closing = draw(st.sampled_from([f"--{boundary}--\n", f"--{boundary}-- \n", ""]))
        kind = draw(st.sampled_from(["mixed", "alternative", "digest"]))
        return (f'Content-Type: multipart/{kind}; boundary="{boundary}"\n\n'
                + "".join(f"--{boundary}\n{part}\n" for part in parts) + closing)
    head = f"Content-Type: {draw(_LEAF_TYPES)}{draw(_CHARSETS)}\n"
    cte, disposition = draw(_CTES), draw(_DISPOSITIONS)
    head += f"Content-Transfer-Encoding: {cte}\n" if cte else ""
    head += f"Content-Disposition: {disposition}\n" if disposition else ""
    return f"{head}\n{draw(_TEXTS)}"


def outcome(read: Callable[[bytes], tuple[str, bool]], mime: bytes) -> object:
    """What ``read`` returns, or the type of what it raises (mail-parser fails on some broken structures)."""
    try:
        return read(mime)
    except Exception as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(_entities(), st.booleans())
def test_generated_bodies_equal_mail_parser(body: str, crlf: bool) -> None:
    """Generated MIME trees give mail-parser's answer (or its failure), whichever path reads them."""
    mime = mime_of(body)
    if not crlf:
        mime = mime.replace(b"\r\n", b"\n")
    assert outcome(m._body_text, mime) == outcome(m._mailparser_body_text, mime)


def test_skipped_stays_skipped() -> None:
    """A message without headers is still Skipped, with or without a body."""
    assert isinstance(parse_message(b"no headers here"), Skipped)
