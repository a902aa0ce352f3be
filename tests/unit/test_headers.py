"""Header hygiene: cleaned values, msg-ids, reply subjects and References never inject or break a header."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from introd.headers import (
    MAX_REFERENCES,
    clean_header_value,
    clean_message_id,
    make_message_id,
    reply_subject,
    thread_references,
)

HOSTILE = [
    "Hello\r\nBcc: evil@x.example",
    "Hello\nBcc: evil@x.example",
    "Hello\rBcc: evil@x.example",
    "=?utf-8?q?x=0D=0ABcc:_evil@x?=",
    "=?utf-8?b?eA0KQmNjOiBldmlsQHg=?=",
    "=?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3D0D=3D0ABcc:_evil@x=3F=3D?=",  # double-encoded
    "x\u2028Bcc: evil@x\u2029y\x85z\x0bw\x00",
]

# Arbitrary text, salted with line breaks and the pieces of an encoded CR/LF.
text_with_breaks = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["\r", "\n", "\r\n", "=?utf-8?q?", "=?utf-8?b?", "?=", "=0D=0A", "Bcc: ", "\u2028"]),
    ),
    max_size=60,
).map("".join)


def _header_names(value: str) -> list[str]:
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = value
    msg["To"] = "a@example.com"
    msg.set_content("body")
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    return [k.lower() for k in parsed]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_lose_their_line_breaks(value: str) -> None:
    """CR, LF, Unicode line separators and encoded CR/LF never survive cleaning."""
    cleaned = clean_header_value(value)
    assert not any(ch in cleaned for ch in "\r\n\u2028\u2029\x85\x0b\x00")
    assert "=?" not in cleaned


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_cannot_add_a_header_field(value: str) -> None:
    """A cleaned hostile subject serialises to exactly the fields that were set, no Bcc."""
    names = _header_names(clean_header_value(value))
    assert "bcc" not in names
    assert names.count("subject") == 1


@settings(max_examples=300)
@given(text_with_breaks)
def test_cleaned_values_never_contain_line_breaks(value: str) -> None:
    """Whatever goes in, no CR or LF comes out, and the value is one header field when serialised."""
    cleaned = clean_header_value(value)
    assert "\r" not in cleaned and "\n" not in cleaned
    names = _header_names(cleaned)
    assert sorted(names) == sorted(["subject", "to", "content-type", "content-transfer-encoding", "mime-version"])


@given(text_with_breaks, st.integers(min_value=1, max_value=998))
def test_cleaned_values_respect_the_length_cap(value: str, max_len: int) -> None:
    """The cap holds for every input and every limit."""
    assert len(clean_header_value(value, max_len=max_len)) <= max_len


def test_whitespace_is_collapsed_and_encoded_words_decoded() -> None:
    """Runs of whitespace become one space and RFC 2047 words become text."""
    assert clean_header_value("  a \t\t b  ") == "a b"
    assert clean_header_value("=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Bern") == "Grüße aus Bern"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Intro: Mary <> Steven", "Re: Intro: Mary <> Steven"),
        ("Re: Intro", "Re: Intro"),
        ("RE: Re: re:Intro", "Re: Intro"),
        ("AW: Vorstellung", "Re: Vorstellung"),
        ("Sv: SV: Intro", "Re: Intro"),
        ("Re[2]: Intro", "Re: Intro"),
        ("Re: Fwd: Intro", "Re: Fwd: Intro"),
        ("Resume: review", "Re: Resume: review"),
        ("", "Re:"),
        ("Re: x\r\nBcc: evil@x", "Re: x Bcc: evil@x"),
    ],
)
def test_reply_subject_has_exactly_one_re(subject: str, expected: str) -> None:
    """Existing reply prefixes in several languages collapse to one "Re: "."""
    assert reply_subject(subject) == expected


@given(text_with_breaks)
def test_reply_subject_never_doubles_re_or_breaks_lines(subject: str) -> None:
    """For any subject, the reply subject starts with one "Re:" and is one line."""
    result = reply_subject(subject)
    assert result.startswith("Re:")
    assert not result[3:].lstrip().lower().startswith("re:")
    assert "\r" not in result and "\n" not in result
    assert reply_subject(result) == result


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.com>", "abc@example.com"),
        ("  abc@example.com ", "abc@example.com"),
        ("abc@example.com>\r\nBcc: x@y", None),
        ("no-at-sign", None),
        ("a b@example.com", None),
        ("", None),
        (None, None),
        ("x" * 300 + "@example.com", None),
    ],
)
def test_clean_message_id(value: str | None, expected: str | None) -> None:
    """Valid msg-ids lose their brackets; anything with spaces, breaks or no "@" is refused."""
    assert clean_message_id(value) == expected


def test_make_message_id_is_fresh_and_on_the_users_domain() -> None:
    """Two ids from the same seed differ, share the seed part and sit on the given domain."""
    first = make_message_id("Example.COM", "t1:nudge:a@b:1")
    second = make_message_id("example.com", "t1:nudge:a@b:1")
    assert first != second
    assert first.endswith("@example.com") and second.endswith("@example.com")
    assert first.split(".")[1] == second.split(".")[1]
    assert clean_message_id(first) == first


def test_make_message_id_with_a_nonce_is_deterministic() -> None:
    """A pinned nonce gives the same id, an IDN domain is punycoded, a bad domain is refused."""
    assert make_message_id("example.com", "s", nonce="n1") == make_message_id("example.com", "s", nonce="n1")
    assert make_message_id("bücher.example", "s", nonce="n1").endswith("@xn--bcher-kva.example")
    with pytest.raises(ValueError):
        make_message_id("evil.com>\r\nBcc: x", "s")


@given(st.text(max_size=100))
def test_make_message_id_never_breaks_lines(seed: str) -> None:
    """Any seed yields a valid msg-id."""
    assert clean_message_id(make_message_id("example.com", seed)) is not None


def test_thread_references_keep_the_root_and_the_newest() -> None:
    """Over the cap, the first id and the newest ones stay, in order, with the parent last."""
    refs = [f"m{i}@example.com" for i in range(40)]
    result = thread_references(refs, "parent@example.com")
    assert len(result) == MAX_REFERENCES
    assert result[0] == "m0@example.com"
    assert result[-1] == "parent@example.com"
    assert result[-2] == "m39@example.com"


def test_thread_references_drop_junk_duplicates_and_synthetic_ids() -> None:
    """Unusable, repeated and synthesised ids are left out."""
    result = thread_references(["a@x", "a@x", "bad id", "abc@introd.invalid"], "b@x")
    assert result == ("a@x", "b@x")


@settings(max_examples=200)
@given(st.text(max_size=80), st.sampled_from(["utf-8", "iso-8859-1"]))
def test_encoded_words_never_decode_to_line_breaks(text: str, charset: str) -> None:
    """Any text RFC 2047-encoded (b or q) comes out of cleaning as one line that stays one field."""
    try:
        encoded = Header(text, charset).encode()
    except UnicodeEncodeError:
        encoded = Header(text, "utf-8").encode()
    cleaned = clean_header_value(encoded)
    assert "\r" not in cleaned and "\n" not in cleaned
    assert "bcc" not in _header_names(cleaned)
