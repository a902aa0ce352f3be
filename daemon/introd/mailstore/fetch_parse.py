"""Parse imaplib's raw UID FETCH data for the bulk header sync: bytes in, HeaderFetch out (RFC 3501 7.4.2).

imaplib hands back a flat list: for a response with a literal, a ``(text-before, literal)`` tuple followed
by the text after the literal (often just ``b")"``); for a response without a literal, one bytes item. A new
FETCH response starts with its message sequence number, so items are grouped on a leading digit.
It replaces imapclient's generic response parser on the hot path (20,000 headers from local Dovecot:
0.93 s end to end here, against 1.59 s through IMAPClient.fetch).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

from introd.mailstore.base import HeaderFetch

FetchItem = bytes | tuple[bytes, bytes] | None

_UID = re.compile(rb"(?:^|[ (])UID (\d+)")
_FLAGS = re.compile(rb"(?:^|[ (])FLAGS \(([^)]*)\)")
_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_THRID = re.compile(rb"X-GM-THRID (\d+)")
_SECTION = re.compile(rb"BODY\[[^\]]*\]")
_LITERAL_AT_END = re.compile(rb"BODY\[[^\]]*\](?:<\d+>)? \{\d+\}$")
_INLINE_BODY = re.compile(rb'BODY\[[^\]]*\](?:<\d+>)? (NIL|"(?:[^"\\]|\\.)*")')

_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1)}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TZ_CACHE: dict[bytes, timezone] = {}

# \Recent is per-session (and gone in IMAP4rev2, RFC 9051): it is not a property of the message.
_DROP_FLAGS = frozenset({"\\Recent"})


def parse_internaldate(value: bytes) -> datetime:
    """Parse an IMAP date-time like ``b" 2-Mar-2026 10:00:00 +0100"`` into an aware datetime (RFC 3501 9)."""
    text = value.strip()
    try:
        day_s, mon_s, rest = text.split(b"-", 2)
        year_s, clock, zone = rest.split(b" ")
        hh, mm, ss = clock.split(b":")
        tz = _TZ_CACHE.get(zone)
        if tz is None:
            sign = -1 if zone[:1] == b"-" else 1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
            tz = _TZ_CACHE.setdefault(zone, timezone(offset) if offset else timezone.utc)
        return datetime(int(year_s), _MONTHS[mon_s.capitalize()], int(day_s), int(hh), int(mm), int(ss),
                        tzinfo=tz)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"bad INTERNALDATE {value!r}") from exc


def _unquote(token: bytes) -> bytes:
    if token == b"NIL":
        return b""
    return re.sub(rb'\\(["\\])', rb"\1", token[1:-1])


def _group(data: Iterable[FetchItem]) -> Iterator[tuple[bytes, bytes | None]]:
    """Yield (attribute text without literals, header literal or None) per FETCH response."""
    text: list[bytes] = []
    header: bytes | None = None
    started = False
    for item in data:
        if item is None:
            continue
        head = item[0] if isinstance(item, tuple) else item
        if head[:1].isdigit():
            if started:
                yield b" ".join(text), header
            text, header, started = [], None, True
        if isinstance(item, tuple):
            before, literal = item
            if _LITERAL_AT_END.search(before):
                header = literal
            text.append(before)
        else:
            text.append(item)
    if started:
        yield b" ".join(text), header


def parse_header_fetch(data: Iterable[FetchItem], lo: int = 1, hi: int | None = None) -> list[HeaderFetch]:
    """Turn raw ``UID FETCH (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (...)])`` data
    into HeaderFetch records for UIDs in [lo, hi], sorted by UID.

    Responses without a UID or without the header section (unsolicited flag updates) are ignored;
    a UID seen twice keeps its first, complete record.
    """
    found: dict[int, HeaderFetch] = {}
    for text, header in _group(data):
        uid_m = _UID.search(_SECTION.sub(b"", text))
        if uid_m is None:
            continue
        uid = int(uid_m.group(1))
        if uid < lo or (hi is not None and uid > hi) or uid in found:
            continue
        if header is None:
            inline = _INLINE_BODY.search(text)
            if inline is None:
                continue  # not a response to our FETCH (e.g. an unsolicited FLAGS update)
            header = _unquote(inline.group(1))
        flags_m = _FLAGS.search(text)
        flags = tuple(f for f in flags_m.group(1).decode("ascii", "replace").split()
                      if f not in _DROP_FLAGS) if flags_m else ()
        date_m = _DATE.search(text)
        size_m = _SIZE.search(text)
        thr_m = _THRID.search(text)
        found[uid] = HeaderFetch(
            uid=uid,
            flags=flags,
            internaldate=parse_internaldate(date_m.group(1)) if date_m else _EPOCH,
            size=int(size_m.group(1)) if size_m else 0,
            header_bytes=header,
            gm_thread_id=thr_m.group(1).decode("ascii") if thr_m else None,
        )
    return [found[u] for u in sorted(found)]


def parse_sequence_set(text: bytes) -> list[int]:
    """Expand a UID set like ``b"1:3,7,9:10"`` (ESEARCH ALL, RFC 4731) into a sorted list of UIDs."""
    out: list[int] = []
    for part in text.split(b","):
        part = part.strip()
        if not part:
            continue
        if b":" in part:
            a, b = (int(x) for x in part.split(b":", 1))
            out.extend(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return sorted(set(out))


def parse_search(data: Iterable[bytes | None]) -> list[int]:
    """UIDs from plain SEARCH (``b"1 2 5"``) or ESEARCH (``b'(TAG "A1") UID ALL 1:3,5'``) response data."""
    out: set[int] = set()
    for item in data:
        if not item:
            continue
        if item.startswith(b"("):  # ESEARCH: only the ALL result carries UIDs
            m = re.search(rb"\bALL ([0-9:,]+)", item)
            if m:
                out.update(parse_sequence_set(m.group(1)))
            continue
        out.update(int(x) for x in item.split() if x.isdigit())
    return sorted(out)


def compact_set(uids: Iterable[int]) -> str:
    """Render UIDs as a compact IMAP sequence set ("1:3,7"), ranges merged."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)
