"""Deeply nested and broken MIME structure: skipped and counted before any MIME parsing when too deep (time and
memory bounded), parsed when merely broken, never a crash. Pure: no server."""

from __future__ import annotations

import tracemalloc
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import compat32

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from introd.message import MAX_MIME_DEPTH, Message, Skipped, mime_depth, parse_message
from tests.reliability.harness import record_count

HEAD = b"From: Dana <dana@whitfield-pr.example>\r\nTo: priya@raman-design.example\r\nSubject: Priya <> Marcus\r\n" \
       b"Message-ID: <nest@whitfield-pr.example>\r\nMIME-Version: 1.0\r\n"
TEXT = b"Priya, meet Marcus! Marcus, meet Priya!\r\n"
TOO_DEEP = f"MIME parts nested more than {MAX_MIME_DEPTH} deep"
examples = {"n": 0}


def nested(depth: int, *, closed: bool = True, kind: str = "multipart") -> bytes:
    """A message whose text sits ``depth`` containers down: multiparts (closed or never closed) or a chain of
    embedded messages (message/rfc822)."""
    if kind == "message":
        wrap = b"Content-Type: message/rfc822\r\n\r\n" * depth
        return HEAD + wrap + b"Content-Type: text/plain\r\n\r\n" + TEXT
    opens = b"".join(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'.encode()
                     for i in range(1, depth))
    inner = f"--b{depth}\r\nContent-Type: text/plain\r\n\r\n".encode() + TEXT
    closes = b"".join(f"\r\n--b{i}--\r\n".encode() for i in range(depth, 0, -1)) if closed else b""
    return HEAD + b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n' + opens + inner + closes


@pytest.fixture
def no_mime_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if mail-parser is asked to parse anything (the message must be refused before)."""
    import mailparser

    def refuse(raw: bytes) -> None:
        raise AssertionError("mail-parser was called on a message that is too deep")

    monkeypatch.setattr(mailparser, "parse_from_bytes", refuse)


@pytest.mark.parametrize(("depth", "closed", "kind"), [(51, True, "multipart"), (300, False, "multipart"),
                                                       (300, True, "multipart"), (20_000, False, "multipart"),
                                                       (1_000, True, "message")])
def test_too_deep_is_skipped_before_parsing_in_bounded_memory(depth: int, closed: bool, kind: str,
                                                              no_mime_parser: None) -> None:
    """Nesting beyond MAX_MIME_DEPTH is Skipped with a reason, without the quadratic (and, past ~1,000 levels,
    recursion-limited) MIME parser; the depth scan itself needs memory of the order of the message."""
    raw = nested(depth, closed=closed, kind=kind)
    tracemalloc.start()
    try:
        result = parse_message(raw, uid=7)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, Skipped) and result.uid == 7
    assert result.reason == TOO_DEEP
    assert peak < 4 * len(raw) + 1024 * 1024, f"peak {peak} bytes for a {len(raw)}-byte message"
    examples["n"] += 1


@pytest.mark.parametrize("kind", ["multipart", "message"])
def test_nesting_within_the_limit_is_parsed(kind: str) -> None:
    """A message nested right up to the limit still gives its text."""
    result = parse_message(nested(MAX_MIME_DEPTH, kind=kind))
    assert isinstance(result, Message), result
    assert result.has_body and "Priya, meet Marcus" in result.new_text
    examples["n"] += 1


def test_many_sibling_parts_are_not_depth() -> None:
    """2,000 multiparts side by side are one level deep, not 2,000: parsed, not skipped."""
    parts = b"".join(f'--top\r\nContent-Type: multipart/alternative; boundary="a{i}"\r\n\r\n--a{i}\r\n'
                     f"Content-Type: text/plain\r\n\r\npart {i}\r\n--a{i}--\r\n".encode() for i in range(2000))
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="top"\r\n\r\n' + parts + b"--top--\r\n"
    assert mime_depth(raw[len(HEAD):], limit=10) == 2
    result = parse_message(raw)
    assert isinstance(result, Message) and "part 0" in result.new_text
    examples["n"] += 1


def test_structure_mail_parser_trips_over_still_gives_its_text() -> None:
    """A never-closed multipart holding a multipart whose start boundary is missing makes mail-parser raise
    AttributeError; the standard-library fallback still reads the text part."""
    raw = (HEAD + b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
           b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + TEXT
           + b'--b1\r\nContent-Type: multipart/alternative; boundary="b2"\r\n\r\nno boundary ever\r\n')
    import mailparser

    with pytest.raises(AttributeError):  # the mail-parser bug this guards against (4.x)
        mailparser.parse_from_bytes(raw)
    result = parse_message(raw)
    assert isinstance(result, Message) and "Priya, meet Marcus" in result.new_text
    examples["n"] += 1


def test_broken_structure_with_nothing_readable_is_skipped_and_counted() -> None:
    """Multiparts whose boundaries never show up (as in the hostile corpus, only 3 deep): nothing readable
    either way, so Skipped with the parser's reason, not a crash."""
    raw = nested(3, closed=False).replace(b"--b3\r\n", b"")
    result = parse_message(raw, uid=3)
    assert isinstance(result, Skipped) and result.reason.startswith("unparsable: AttributeError")
    examples["n"] += 1


def _real_depth(raw: bytes) -> int:
    """Container depth as the standard library sees it (iterative walk)."""
    deepest = 0
    todo = [(message_from_bytes(raw, policy=compat32), 0)]
    while todo:
        part, level = todo.pop()
        payload = part.get_payload()
        if isinstance(payload, list):
            deepest = max(deepest, level + 1)
            todo.extend((p, level + 1) for p in payload if isinstance(p, EmailMessage))
    return deepest


@st.composite
def structures(draw: st.DrawFn) -> tuple[bytes, int]:
    """A well-formed tree of containers (depth 0-80) with text leaves beside and at the bottom of its spine;
    each level a multipart or an embedded message. (raw message, its depth)."""
    depth = draw(st.integers(0, 80))
    node = b"Content-Type: text/plain\r\n\r\n" + TEXT
    for level in range(depth, 0, -1):
        if draw(st.integers(0, 4)) == 0:
            node = b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n" + node
            continue
        boundary = f"n{level}".encode()
        children = [node]
        for _ in range(draw(st.integers(0, 2))):
            leaf = b"Content-Type: text/plain\r\n\r\nleaf\r\n"
            children.insert(draw(st.integers(0, len(children))), leaf)
        body = b"".join(b"--" + boundary + b"\r\n" + child + b"\r\n" for child in children)
        node = (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n' + body
                + b"--" + boundary + b"--\r\n")
    return HEAD + node, depth


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(structures())
def test_depth_scan_agrees_with_the_parser_and_decides_skipping(case: tuple[bytes, int]) -> None:
    """For well-formed trees the line scan measures the depth the MIME parser finds; deeper than the limit is
    Skipped, anything else parses; nothing raises."""
    raw, depth = case
    examples["n"] += 1
    assert mime_depth(raw[len(HEAD):], limit=10_000) == depth == _real_depth(raw)
    result = parse_message(raw)
    if depth > MAX_MIME_DEPTH:
        assert isinstance(result, Skipped) and result.reason == TOO_DEEP
    else:
        assert isinstance(result, Message) and "Priya, meet Marcus" in result.new_text


def test_record_the_count() -> None:
    """(Runs last in this module) the inputs tried above, for the README table."""
    assert examples["n"] >= 150
    record_count("mime_depth_inputs", examples["n"])
