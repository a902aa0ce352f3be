"""Hypothesis-generated mail through the pure parsers and the draft composer: nothing raises, nothing is injected."""

from __future__ import annotations

import base64
import email
import re
from datetime import datetime, timezone
from email import policy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from introd.drafting import Envelope, compose, substitute
from introd.message import MAX_SUBJECT, Address, Message, Skipped, parse_headers, parse_message
from tests.reliability.harness import record_count

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
NASTY = st.sampled_from(["\r\n", "\r", "\n", "\x00", "\t", " ", ":", ";", ",", "<", ">", '"', "=?", "?=",
                         "Bcc: x@evil.example", "\u2028", "\x85", "\udcff", "é",
                         "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?="])
LINE_BREAKING = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
HOSTILE_TEXT = st.lists(st.one_of(NASTY, st.text(max_size=12)), max_size=12).map("".join)
HEADER_NAMES = st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "In-Reply-To",
                                "Content-Type", "Content-Transfer-Encoding", "MIME-Version", "Reply-To", "X-Junk"])
examples = {"n": 0}


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8", "surrogatepass")).decode() + "?="


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A message built from hostile header values (raw or as RFC 2047 words) and a hostile MIME body."""
    lines = []
    for name in draw(st.lists(HEADER_NAMES, min_size=1, max_size=14)):
        value = draw(HOSTILE_TEXT)
        if draw(st.booleans()):
            value = _encoded_word(value)
        lines.append(f"{name}: {value}".encode("utf-8", "surrogateescape"))
    boundary = draw(st.sampled_from(["b", "", "\r\n", "x" * 80]))
    body = draw(st.one_of(
        st.binary(max_size=400),
        st.just(f"--{boundary}\r\nContent-Type: text/html\r\n\r\n<p>hi<div><b>".encode()),
        st.just(b"Content-Type: multipart/mixed; boundary=q\r\n\r\n" * 30),
    ))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@SETTINGS
@given(raw=st.one_of(messages(), st.binary(max_size=2000)))
def test_parsers_never_raise_and_stay_bounded(raw: bytes) -> None:
    """parse_headers and parse_message return a bounded Message or a Skipped for any bytes, and never raise."""
    examples["n"] += 1
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    for parsed in (parse_headers(head, folder="INBOX", uid=1, internaldate=NOW),
                   parse_message(raw, folder="INBOX", uid=1, internaldate=NOW)):
        assert isinstance(parsed, (Message, Skipped))
        if isinstance(parsed, Message):
            assert len(parsed.subject) <= MAX_SUBJECT
            assert parsed.date.tzinfo is not None
            # one-line values: drafting re-validates ids (headers.clean_message_id) before writing any
            assert not any(LINE_BREAKING.search(v) for v in (parsed.message_id, parsed.subject, *parsed.references))


@SETTINGS
@given(raw=messages(), name=HOSTILE_TEXT, subject=HOSTILE_TEXT, marker=HOSTILE_TEXT)
def test_a_reply_draft_to_hostile_mail_has_exactly_its_own_headers(raw: bytes, name: str, subject: str,
                                                                  marker: str) -> None:
    """A draft composed from whatever a hostile message parses to has only its own header lines, each one line."""
    examples["n"] += 1
    parsed = parse_message(raw, folder="INBOX", uid=1, internaldate=NOW)
    sender = parsed.sender if isinstance(parsed, Message) and parsed.sender else Address(name, "a@b.example")
    other = Address(name, "marcus@bell.example")
    references = parsed.references if isinstance(parsed, Message) else ()
    envelope = Envelope(sender=Address("Priya " + name, "priya@raman.example"), to=(sender, other),
                        subject="Re: " + (parsed.subject if isinstance(parsed, Message) else subject) + subject,
                        date=NOW, message_id="introd.1@raman.example", marker=marker, bcc=(other,),
                        in_reply_to=parsed.message_id if isinstance(parsed, Message) else None,
                        references=references)
    try:
        out, _warnings = compose(envelope, f"Hi {name},\n{subject}")
    except ValueError:
        return  # refusing to write is safe; writing injected headers is not
    head = out.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    msg = email.message_from_bytes(out, policy=policy.default)
    assert {k.lower() for k in msg} <= {"from", "to", "bcc", "subject", "date", "message-id", "in-reply-to",
                                        "references", "x-introd-action", "content-type",
                                        "content-transfer-encoding", "mime-version"}
    assert len(msg.get_all("To") or []) <= 1 and len(msg.get_all("Bcc") or []) <= 1
    addresses = {a.addr_spec.lower() for key in ("From", "To", "Bcc")
                 for a in (msg[key].addresses if msg[key] else ())}
    assert addresses <= {sender.email.lower(), other.email, "priya@raman.example"}  # only the chosen ones


@SETTINGS
@given(template=HOSTILE_TEXT, value=HOSTILE_TEXT)
def test_templates_only_substitute_known_names_once(template: str, value: str) -> None:
    """`{{name}}` templates replace only names from the dict, never expand a value again, never reach attributes."""
    examples["n"] += 1
    attacks = "{{name}} {{name.__class__}} {{__import__('os')}} {0.__globals__} {{other}} "
    rendered, warnings = substitute(attacks + template, {"name": value + "{{name}}{{secret}}"})
    assert rendered.startswith(value + "{{name}}{{secret}} {{name.__class__}} {{__import__('os')}} {0.__globals__}")
    assert "{{other}}" in rendered and any("other" in w for w in warnings)


def test_record_hypothesis_count() -> None:
    """The generated-input count is written for the README table."""
    assert examples["n"] >= 300 or examples["n"] == 0  # 0 when run on its own with -k
    record_count("hypothesis_examples", examples["n"])
