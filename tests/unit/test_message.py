"""Bytes to Message records: headers, dates, automated markers, relays, bodies and hostile input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from introd.message import EPOCH_FALLBACK, Message, Skipped, decode_words, parse_headers, parse_message

INTERNAL = datetime(2026, 3, 2, 10, 0, 5, tzinfo=timezone.utc)


def head(*lines: str, base: bool = True) -> bytes:
    """A CRLF header block; the base fields come first unless overridden by name."""
    given_names = {line.split(":", 1)[0].lower() for line in lines}
    defaults = {
        "from": "From: Kathy Lee <Kathy@X.com>",
        "to": "To: Bob <bob@y.com>",
        "subject": "Subject: Intro",
        "date": "Date: Mon, 2 Mar 2026 11:00:00 +0100",
        "message-id": "Message-ID: <abc@x.com>",
    }
    out = [v for k, v in defaults.items() if base and k not in given_names] + list(lines)
    return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8")


def parsed(*lines: str, internaldate: datetime | None = INTERNAL, base: bool = True) -> Message:
    result = parse_headers(head(*lines, base=base), folder="INBOX", uid=7, internaldate=internaldate)
    assert isinstance(result, Message), result
    return result


def full(raw: str | bytes) -> Message:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    result = parse_message(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), uid=3, internaldate=INTERNAL)
    assert isinstance(result, Message), result
    return result


# --- headers ------------------------------------------------------------------------------------------


def test_basic_fields() -> None:
    """Message-ID loses its brackets, emails are lower-cased and the sender is the first From."""
    m = parsed()
    assert m.message_id == "abc@x.com"
    assert m.sender is not None
    assert (m.sender.name, m.sender.email) == ("Kathy Lee", "kathy@x.com")
    assert m.to[0].email == "bob@y.com"
    assert (m.folder, m.uid, m.has_body) == ("INBOX", 7, False)


def test_rfc2047_names_and_subject() -> None:
    """Encoded words in names and subjects are decoded; adjacent words join without the space between."""
    m = parsed(
        "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <jm@x.de>",
        "Subject: =?utf-8?B?SGFsbG8g?= =?utf-8?Q?W=C3=B6rld?=  und   mehr",
        'Cc: "=?iso-8859-1?q?Andr=E9?=" <andre@x.fr>, "Smith, Ann" <ANN@Z.com>',
    )
    assert m.sender is not None
    assert m.sender.name == "Jörg Müller"
    assert m.subject == "Hallo Wörld und mehr"
    assert [(a.name, a.email) for a in m.cc] == [("André", "andre@x.fr"), ("Smith, Ann", "ann@z.com")]


def test_unknown_charset_and_broken_base64_do_not_fail() -> None:
    """An unknown charset falls back to UTF-8 and broken base64 stays as written."""
    assert decode_words("=?x-bogus?Q?caf=C3=A9?=") == "café"
    assert decode_words("=?utf-8?B?###?=") == "=?utf-8?B?###?="


def test_folded_headers_unfold() -> None:
    """Folded (multi-line) header values are unfolded before use."""
    m = parsed("Subject: A long\r\n  subject line", "To: Bob <bob@y.com>,\r\n\tAnn <ann@z.com>")
    assert m.subject == "A long subject line"
    assert [a.email for a in m.to] == ["bob@y.com", "ann@z.com"]


def test_references_and_in_reply_to() -> None:
    """References keep their order without brackets; junk between ids is ignored."""
    m = parsed("References: <r1@x>  junk <r2@x>\r\n <r3@x> <r1@x>", "In-Reply-To: Your message <r3@x>")
    assert m.references == ("r1@x", "r2@x", "r3@x")
    assert m.in_reply_to == ("r3@x",)


def test_missing_message_id_is_synthesised_stably() -> None:
    """Without a Message-ID a stable sha1-based id under introd.invalid is made from key headers."""
    a = parsed("Message-ID:")
    b = parse_headers(head("Message-ID:"), folder="Sent", uid=99)
    c = parsed("Message-ID:", "Subject: Other")
    assert a.message_id.endswith("@introd.invalid")
    assert len(a.message_id.split("@")[0]) == 40
    assert isinstance(b, Message)
    assert a.message_id == b.message_id
    assert a.message_id != c.message_id


def test_bare_message_id_accepted() -> None:
    """A Message-ID written without angle brackets is still used."""
    assert parsed("Message-ID: bare@x.com").message_id == "bare@x.com"


# --- dates ----------------------------------------------------------------------------------------------


def test_date_header_used_when_sane() -> None:
    """A sane Date header wins and is tz-aware."""
    m = parsed()
    assert m.date == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    assert m.date.tzinfo is not None
    assert m.date_source == "header"


@pytest.mark.parametrize(
    "date",
    ["Date: not a date", "Date: Thu, 1 Jan 1970 00:00:00 +0000", "Date: Mon, 2 Mar 2099 10:00:00 +0000", "Date:"],
    ids=["junk", "epoch", "future", "empty"],
)
def test_absurd_date_falls_back_to_internaldate(date: str) -> None:
    """Unparsable, pre-1990 or future Date headers give way to INTERNALDATE."""
    m = parsed(date)
    assert m.date == INTERNAL
    assert m.date_source == "internaldate"


def test_missing_date_header_uses_internaldate() -> None:
    """Without a Date header INTERNALDATE is used."""
    m = parse_headers(b"From: a@b.c\r\nSubject: x\r\n\r\n", folder="INBOX", internaldate=INTERNAL)
    assert isinstance(m, Message)
    assert (m.date, m.date_source) == (INTERNAL, "internaldate")


def test_naive_dates_are_utc() -> None:
    """A "-0000" Date and a naive INTERNALDATE are taken as UTC."""
    assert parsed("Date: Mon, 2 Mar 2026 10:00:00 -0000").date == datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    naive = datetime(2026, 3, 2, 9, 0)
    m = parsed("Date: junk", internaldate=naive)
    assert m.date == naive.replace(tzinfo=timezone.utc)


def test_no_date_at_all_uses_epoch_fallback() -> None:
    """Without Date and INTERNALDATE the fixed fallback is used and recorded as such."""
    m = parsed("Date: junk", internaldate=None)
    assert (m.date, m.date_source) == (EPOCH_FALLBACK, "none")


def test_slightly_future_date_is_kept() -> None:
    """A Date up to two days after INTERNALDATE (clock skew) is kept."""
    later = INTERNAL + timedelta(days=1)
    assert parsed(f"Date: {later.strftime('%a, %d %b %Y %H:%M:%S +0000')}").date == later


# --- automated markers and relays -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "marker"),
    [
        ("List-Id: <news.x.com>", "list-id"),
        ("List-Unsubscribe: <mailto:u@x.com>", "list-unsubscribe"),
        ("Precedence: bulk", "precedence-bulk"),
        ("Precedence: list", "precedence-list"),
        ("Precedence: junk", "precedence-junk"),
        ("Auto-Submitted: auto-replied", "auto-submitted"),
        ("X-Auto-Response-Suppress: All", "x-auto-response-suppress"),
        ("From: No Reply <noreply@shop.com>", "noreply-sender"),
        ("From: <no-reply@shop.com>", "noreply-sender"),
        ("From: donotreply@bank.com", "noreply-sender"),
        ("From: MAILER-DAEMON@mx.com", "noreply-sender"),
        ("From: postmaster@mx.com", "noreply-sender"),
        ("From: GitHub <notifications@github.com>", "role-sender"),
        ("From: newsletter@shop.com", "role-sender"),
        ("From: marketing@shop.com", "role-sender"),
        ('Content-Type: text/calendar; method="REQUEST"', "calendar"),
        ("Content-Class: urn:content-classes:calendarmessage", "calendar"),
    ],
)
def test_automated_markers(line: str, marker: str) -> None:
    """Each automated-mail signal adds its marker."""
    assert marker in parsed(line).automated


@pytest.mark.parametrize(
    "line", ["Auto-Submitted: no", "From: Kathy <info@kathys-bakery.com>", "Precedence: first-class"]
)
def test_person_mail_is_not_automated(line: str) -> None:
    """Auto-Submitted: no, info@ small-business senders and other precedences are not automated."""
    m = parsed(line)
    assert m.automated == ()
    assert not m.is_automated


def test_linkedin_relay_is_a_person() -> None:
    """A LinkedIn message relay names the person and carries no automated markers."""
    m = parsed(
        "From: Mary Smith via LinkedIn <messages-noreply@linkedin.com>",
        "List-Unsubscribe: <https://linkedin.com/u>",
        "X-LinkedIn-Class: INMAIL",
    )
    assert m.relayed_by == "linkedin"
    assert m.relayed_for == "Mary Smith"
    assert m.automated == ()
    assert m.header("x-linkedin-class") == "INMAIL"


def test_linkedin_inmail_without_via() -> None:
    """An InMail reply address with a person's display name is a relay too."""
    m = parsed("From: Mary Smith <inmail-hit-reply@linkedin.com>")
    assert (m.relayed_by, m.relayed_for) == ("linkedin", "Mary Smith")


def test_linkedin_notification_is_automated() -> None:
    """LinkedIn's own notifications are automated, not relays."""
    m = parsed("From: LinkedIn <notifications-noreply@linkedin.com>")
    assert m.relayed_by is None
    assert "noreply-sender" in m.automated


# --- kept headers and hostile values -------------------------------------------------------------------


def test_selected_headers_kept() -> None:
    """X-Introd-*, List-Id and X-GM-THRID are kept, other headers are not."""
    m = parsed("X-Introd-Action: reminder", "List-Id: <l.x.com>", "X-GM-THRID: 12345", "X-Spam: yes")
    names = [name for name, _ in m.headers]
    assert names == ["X-Introd-Action", "List-Id", "X-GM-THRID"]
    assert m.header("x-introd-action") == "reminder"
    assert m.gm_thread_id == "12345"


def test_gm_thread_id_argument_wins() -> None:
    """The IMAP X-GM-THRID passed in beats the header."""
    m = parse_headers(head("X-GM-THRID: 1"), folder="INBOX", gm_thread_id="777", flags=("\\Seen",))
    assert isinstance(m, Message)
    assert (m.gm_thread_id, m.flags) == ("777", ("\\Seen",))


def test_control_characters_never_survive() -> None:
    """CR, LF, NUL and other control characters (raw or RFC 2047-encoded) never reach kept values."""
    m = parsed(
        "Subject: =?utf-8?Q?Hi=0D=0ABcc:_evil@x.com?=",
        "X-Introd-Action: =?utf-8?Q?a=0Db=00c?=",
        "From: =?utf-8?Q?Eve=0A?= <eve@x.com>",
        "To: bob@y.com\rX-Injected: 1",
    )
    values = [m.subject, *(v for _, v in m.headers), *(a.name for a in m.participants),
              *(a.email for a in m.participants)]
    for value in values:
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in value), value
    assert m.subject == "Hi Bcc: evil@x.com"


def test_long_values_capped() -> None:
    """Subjects and kept header values are length-capped."""
    m = parsed("Subject: " + "x" * 5000, "X-Introd-Action: " + "y" * 5000)
    assert len(m.subject) == 998
    assert all(len(v) <= 512 for _, v in m.headers)


def test_huge_address_list_capped() -> None:
    """A To: with 5,000 addresses keeps at most 500."""
    m = parsed("To: " + ", ".join(f"u{i}@x.com" for i in range(5000)))
    assert len(m.to) == 500


def test_group_syntax_and_comments() -> None:
    """Group syntax and comments go through the RFC 5322 parser."""
    m = parsed("To: friends: a@x.com, b@y.com;, c@z.com (Carl)")
    assert [a.email for a in m.to] == ["a@x.com", "b@y.com", "c@z.com"]


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"garbage without colon", b"\xff\xfe\x00\x00"])
def test_non_headers_are_skipped(data: bytes) -> None:
    """Bytes with no message headers become Skipped with a reason."""
    result = parse_headers(data, folder="INBOX", uid=5)
    assert isinstance(result, Skipped)
    assert (result.uid, result.reason) == (5, "no message headers")


def test_latin1_raw_header_decodes() -> None:
    """Raw 8-bit Latin-1 in a header does not break parsing."""
    result = parse_headers(b"From: J\xf6rg <j@x.de>\r\nSubject: Gr\xfc\xdfe\r\n\r\n", folder="INBOX")
    assert isinstance(result, Message)
    assert result.subject == "Grüße"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    """Arbitrary bytes give a Message or a Skipped, never an exception."""
    assert isinstance(parse_headers(data, folder="INBOX"), Message | Skipped)
    assert isinstance(parse_message(data), Message | Skipped)
    mime = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + data
    assert isinstance(parse_message(mime), Message | Skipped)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["From: ", "To: ", "Subject: ", "Date: ", "Message-ID: ", "References: ",
                                 "=?utf-8?q?", "?=", "<", ">", "@", ",", '"', "\r\n", "\r\n ", "\n", "\x00",
                                 "\u2028", "é", "x", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b"]),
                max_size=60))
def test_header_like_junk_never_raises(parts: list[str]) -> None:
    """Header-shaped junk never raises and never yields CR/LF in the subject."""
    result = parse_message("".join(parts).encode("utf-8"))
    if isinstance(result, Message):
        assert "\n" not in result.subject
        assert "\r" not in result.subject


# --- bodies ---------------------------------------------------------------------------------------------

PLAIN_REPLY = """From: Bob <bob@y.com>
To: Kathy <kathy@x.com>
Subject: Re: Intro
Message-ID: <b@y.com>
In-Reply-To: <a@x.com>
Date: Mon, 2 Mar 2026 11:00:00 +0000
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Thanks Kathy =E2=80=93 happy to connect!

--=20
Bob Baker

On Mon, Mar 2, 2026 at 10:00 AM Kathy Lee <kathy@x.com> wrote:
> Bob, meet Ann.
"""


def test_quoted_printable_plain_body() -> None:
    """A quoted-printable text/plain body decodes; signature and quote leave the new text."""
    m = full(PLAIN_REPLY)
    assert m.has_body
    assert m.new_text == "Thanks Kathy – happy to connect!"
    assert "Bob, meet Ann." in m.quoted_text
    assert m.in_reply_to == ("a@x.com",)


HTML_ONLY = """From: Kathy <kathy@x.com>
To: Bob <bob@y.com>, Ann <ann@z.com>
Subject: Bob <> Ann
Message-ID: <h@x.com>
Date: Mon, 2 Mar 2026 10:00:00 +0000
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style><script>alert(1)</script></head>
<body><p>Bob, meet Ann &amp; her team.</p><div>Ann runs a bakery&nbsp;in Berlin.<br>Talk soon</div>
<blockquote>Earlier &lt;text&gt;</blockquote></body></html>
"""


def test_html_only_body_converted() -> None:
    """An HTML-only body loses tags, styles and scripts, decodes entities and keeps line breaks."""
    m = full(HTML_ONLY)
    assert m.new_text.splitlines() == ["Bob, meet Ann & her team.", "", "Ann runs a bakery in Berlin.", "Talk soon"]
    assert "color" not in m.new_text
    assert "alert" not in m.new_text
    assert m.quoted_text == "Earlier <text>"


MULTIPART = """From: Kathy <kathy@x.com>
To: Bob <bob@y.com>
Subject: Coffee
Message-ID: <m@x.com>
Date: Mon, 2 Mar 2026 10:00:00 +0000
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

Plain words win.
--inner
Content-Type: text/html; charset=utf-8

<p>HTML words</p>
--inner--
--outer
Content-Type: text/calendar; method=REQUEST; charset=utf-8
Content-Disposition: attachment; filename="invite.ics"

BEGIN:VCALENDAR
END:VCALENDAR
--outer--
"""


def test_multipart_prefers_plain_and_finds_calendar() -> None:
    """text/plain is preferred over HTML, and a nested .ics part marks the message as calendar."""
    m = full(MULTIPART)
    assert m.new_text == "Plain words win."
    assert "calendar" in m.automated


def test_body_text_capped() -> None:
    """A huge body keeps at most 20,000 characters."""
    raw = PLAIN_REPLY.split("\n\n", 1)[0].replace("quoted-printable", "8bit") + "\n\n" + "word " * 100_000
    m = full(raw)
    assert 0 < len(m.new_text) <= 20_000


def test_full_and_header_parse_agree() -> None:
    """parse_message and parse_headers give the same header fields."""
    raw = PLAIN_REPLY.replace("\n", "\r\n").encode()
    whole = parse_message(raw, internaldate=INTERNAL)
    headers_only = parse_headers(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n", folder="INBOX",
                                 internaldate=INTERNAL)
    assert isinstance(whole, Message)
    assert isinstance(headers_only, Message)
    assert (whole.message_id, whole.subject, whole.date, whole.sender) == (
        headers_only.message_id, headers_only.subject, headers_only.date, headers_only.sender)


FORWARD = """From: Bob <bob@y.com>
To: Kathy <kathy@x.com>
Subject: Fwd: Intro
Message-ID: <f@y.com>
Date: Mon, 2 Mar 2026 11:00:00 +0000
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

See below.
--b
Content-Type: message/rfc822

From: Kathy <kathy@x.com>
Subject: Intro

Bob, meet Ann.
--b--
"""


def test_mail_parser_failure_becomes_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside the body parser (mail-parser: a forwarded message is beyond the fast path) becomes
    Skipped with a short reason."""
    import mailparser

    def boom(raw: bytes) -> None:
        raise RecursionError("too deep")

    monkeypatch.setattr(mailparser, "parse_from_bytes", boom)
    result = parse_message(FORWARD.encode(), uid=4)
    assert isinstance(result, Skipped)
    assert result.uid == 4
    assert result.reason.startswith("unparsable: RecursionError")


def test_plain_text_body_does_not_need_mail_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """A single text/plain body is read by the fast path: a failing mail-parser does not matter to it."""
    import mailparser

    def boom(raw: bytes) -> None:
        raise RecursionError("too deep")

    monkeypatch.setattr(mailparser, "parse_from_bytes", boom)
    result = parse_message(PLAIN_REPLY.encode(), uid=4)
    assert isinstance(result, Message)
    assert result.new_text == "Thanks Kathy – happy to connect!"
