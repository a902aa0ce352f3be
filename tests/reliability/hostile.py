"""A corpus of broken and hostile messages, generated (nothing big is committed): name -> RFC 5322 bytes."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from email.utils import format_datetime

USER = "priya@raman-design.example"
INJECTED = "Bcc: victim@evil.example"
ATTACHMENT_MB = 50


def _b64_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _intro(n: int, when: datetime, *, subject: str | None = None, introducer: str = "Dana Whitfield",
           other: str | None = None, extra_headers: str = "", content_type: str = 'text/plain; charset="us-ascii"',
           body: bytes | None = None, mid: str | None = None, to_extra: str = "") -> bytes:
    """An introduction of the user (a candidate whose names and subject end up in a reply draft)."""
    other = other if other is not None else f"Marcus Bell{n}"
    subject = subject if subject is not None else f"Priya <> Marcus{n}"
    head = (f"From: {introducer} <dana{n}@whitfield-pr.example>\r\nTo: Priya Raman <{USER}>,\r\n"
            f" {other} <marcus{n}@bellventures{n}.example>{to_extra}\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(when - timedelta(minutes=5 + n))}\r\n"
            f"Message-ID: <{mid or f'hostile-{n}@whitfield-pr.example'}>\r\n{extra_headers}MIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\n\r\n")
    text = (f"Priya, meet Marcus{n}! Marcus{n}, meet Priya!\r\n\r\nMarcus{n} is starting something new and I "
            "immediately thought of you, Priya.\r\n\r\nI'll let you two take it from here!!\r\n\r\nxx Dana\r\n")
    return head.encode("utf-8", "surrogateescape") + (body if body is not None else text.encode())


def corpus(when: datetime, *, attachment_mb: int = ATTACHMENT_MB) -> dict[str, bytes]:
    """Every hostile case, each an intro (so it is a candidate and a draft may quote it) unless noted."""
    plain = _intro(0, when).split(b"\r\n\r\n", 1)[1]
    nested = b"".join(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'.encode()
                      for i in range(1, 300))
    big_chunk = base64.encodebytes(bytes(range(256)) * 3 * 16).replace(b"\n", b"\r\n")  # 16 KB of base64
    attachment = big_chunk * (attachment_mb * 64)
    cases: dict[str, bytes] = {
        "unknown-charset": _intro(1, when, content_type='text/plain; charset="x-unknown-42"',
                                  body="Priya, meet Marcus1 — caf\xe9 \xff\xfe".encode("latin-1", "replace")),
        "missing-charset-8bit": _intro(2, when, content_type="text/plain",
                                       body="Priya, meet Marcus2! Gr\xfc\xdfe, \u2603".encode()),
        "lying-charset": _intro(3, when, content_type='text/plain; charset="utf-16"', body=b"\xff\xd8\x00hello"),
        "broken-boundary": _intro(4, when, content_type='multipart/alternative; boundary="never-used"',
                                  body=b"--other\r\nContent-Type: text/plain\r\n\r\n" + plain + b"\r\n--oth"),
        "8bit-headers": _intro(5, when, subject="Priya <> M\udce9rcus \udcff\udcfe",
                               introducer="D\udce4na W\udcfchitfield", other="M\udce4rcus Bell5"),
        "2000-recipients": _intro(6, when, to_extra="".join(
            f",\r\n r{i} <r{i}@crowd{i % 50}.example>" for i in range(2000))),
        "1mb-subject": _intro(7, when, subject="Priya <> Marcus7 " + "x" * (1024 * 1024)),
        "deep-nesting": _intro(8, when, content_type='multipart/mixed; boundary="b1"',
                               body=nested + b"Content-Type: text/plain\r\n\r\n" + plain),
        "nonsense-date": _intro(9, when).replace(
            b"Date: ", b"Date: Thu, 45 Foo 99999 99:99:99 +9999\r\nX-Old-Date: ", 1),
        "no-date-at-all": b"\r\n".join(ln for ln in _intro(10, when).split(b"\r\n") if not ln.startswith(b"Date:")),
        "duplicate-message-id-a": _intro(11, when, mid="same-id@whitfield-pr.example"),
        "duplicate-message-id-b": _intro(12, when, mid="same-id@whitfield-pr.example", subject="Someone else"),
        "references-loop-a": _intro(13, when, mid="loop-a@x.example", extra_headers=(
            "In-Reply-To: <loop-b@x.example>\r\nReferences: <loop-b@x.example> <loop-a@x.example>\r\n")),
        "references-loop-b": _intro(14, when, mid="loop-b@x.example", extra_headers=(
            "In-Reply-To: <loop-a@x.example>\r\nReferences: <loop-a@x.example> <loop-b@x.example>\r\n")),
        "self-reference": _intro(15, when, mid="self@x.example",
                                 extra_headers="In-Reply-To: <self@x.example>\r\nReferences: <self@x.example>\r\n"),
        "bare-cr-in-subject": _intro(16, when, subject=f"Priya <> Marcus16\r{INJECTED}"),
        "crlf-in-quoted-name": _intro(17, when, introducer=f'"Dana\r\n {INJECTED}"'),
        "rfc2047-crlf-subject": _intro(18, when, subject=_b64_word(f"Priya <> Marcus18\r\n{INJECTED}\r\n\r\nbody")),
        "rfc2047-crlf-name": _intro(19, when, introducer=_b64_word(f"Dana\r\n{INJECTED}"),
                                    other=_b64_word(f"Marcus\n{INJECTED}")),
        "rfc2047-crlf-message-id": _intro(20, when, extra_headers=f"References: <{_b64_word(INJECTED)}>\r\n"),
        "nul-bytes": _intro(21, when, subject="Priya <> Mar\x00cus21", body=b"Priya, meet\x00 Marcus21\x00!"),
        "3mb-single-part-text": _intro(23, when, body=b"Priya, meet Marcus23!\r\n" + b"la " * 1_000_000),
        "not-a-message": b"\x00\x01\x02 garbage \xff\xfe" * 100,
        "header-only": b"From: nobody@nowhere.example\r\n",
        "50mb-attachment": _intro(22, when, content_type='multipart/mixed; boundary="att"', body=(
            b"--att\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + plain
            + b"\r\n--att\r\nContent-Type: application/pdf; name=big.pdf\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=big.pdf\r\n\r\n" + attachment + b"\r\n--att--\r\n")),
    }
    return cases
